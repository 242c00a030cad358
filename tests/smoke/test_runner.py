"""``python -m ml_refarch smoke``: the pattern list, errors before any AWS call, dry runs, and
the output names each unit declares (checked against the committed template snapshots)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import botocore.exceptions
import pytest

from ml_refarch import catalog
from ml_refarch.__main__ import main as cli_main
from ml_refarch.smoke import runner
from ml_refarch.smoke.outputs import PatternOutputs
from tests.smoke_fakes import NoAws

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "__snapshots__" / "test_snapshots"
PATTERN_IDS = [pattern.id for pattern in catalog.discover()]


@pytest.fixture
def no_aws_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No region and no credentials from anywhere: environment, files or instance metadata."""
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def listed_patterns(text: str) -> list[str]:
    return re.findall(r"^  (\S+)  ", text, re.M)


def test_every_pattern_unit_has_smoke_checks():
    assert list(runner.smoke_tests()) == PATTERN_IDS


def test_without_a_pattern_the_patterns_are_listed(capsys):
    assert runner.main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m ml_refarch smoke PATTERN")
    assert listed_patterns(out) == PATTERN_IDS
    assert "``" not in out

    assert runner.main(["--help"]) == 0
    assert listed_patterns(capsys.readouterr().out) == PATTERN_IDS


def test_an_unknown_pattern_is_named_and_the_patterns_listed(capsys):
    assert runner.main(["kinesis_parquet", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no smoke test for pattern 'kinesis_parquet'\n")
    assert listed_patterns(err) == PATTERN_IDS


def test_the_subcommand_passes_everything_after_it_to_the_runner(capsys):
    assert cli_main(["smoke", "public-endpoint", "--dry-run", "--stack-name", "Mine"]) == 0
    assert "would read stack Mine," in capsys.readouterr().out
    assert cli_main(["smoke"]) == 2
    assert listed_patterns(capsys.readouterr().out) == PATTERN_IDS


def test_no_region_is_one_line_naming_the_option_and_the_variable(no_aws_setup, capsys):
    assert runner.main(["public-endpoint"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: no AWS region: pass --region REGION or set AWS_REGION\n"
    assert captured.out == ""


def test_aws_region_is_a_region(no_aws_setup, capsys):
    """AWS_REGION counts (boto3 itself reads only AWS_DEFAULT_REGION); then credentials are
    what is missing, and the message says how to set both."""
    no_aws_setup.setenv("AWS_REGION", "eu-west-1")
    assert runner.main(["model-monitor"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: no AWS credentials")
    assert "--region" in err and "AWS_REGION" in err and "Traceback" not in err


def test_region_option_without_credentials(no_aws_setup, capsys):
    assert runner.main(["ml-workflow", "--region", "eu-west-1"]) == 2
    assert capsys.readouterr().err == f"error: {runner.NO_CREDENTIALS}\n"


@pytest.mark.parametrize("pattern_id", PATTERN_IDS)
def test_dry_run_prints_the_plan_without_aws(pattern_id, capsys):
    pattern = catalog.by_id(pattern_id)
    assert runner.main([pattern_id, "--dry-run"], session=NoAws()) == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run: would ") and pattern.stack_name in out

    assert runner.main([pattern_id, "--dry-run", "--stack-name", "Other-Stack"]) == 0
    out = capsys.readouterr().out
    assert "Other-Stack" in out and pattern.stack_name not in out


def test_a_usage_error_exits_2_before_any_aws_call(capsys):
    with pytest.raises(SystemExit) as caught:
        runner.main(["multi-az-endpoint", "--requests", "0"], session=NoAws())
    assert caught.value.code == 2
    assert "--requests must be at least 1" in capsys.readouterr().err


# --- output names ------------------------------------------------------------------------------


def constants(outputs: type) -> set[str]:
    return {
        value
        for name in dir(outputs)
        if name.isupper() and isinstance(value := getattr(outputs, name), str)
    }


def output_constants(pattern: catalog.Pattern) -> set[str]:
    """The unit's ``Outputs``, and those the base class adds to every stack."""
    return constants(pattern.module("outputs").Outputs) | constants(PatternOutputs)


#: An output an L2 construct adds by itself (API Gateway's ``ApiEndpoint4F160690``): its id
#: ends in the hash CDK appends to a construct path; the stack names none of these.
GENERATED_OUTPUT = re.compile(r"[0-9A-F]{8}$")


def snapshot_outputs(pattern: catalog.Pattern) -> set[str]:
    """The output ids the pattern's stack declares in any committed snapshot (all variants)."""
    files = sorted(SNAPSHOTS.glob(f"*-{pattern.stack_name}].json"))
    assert files, f"no snapshot of {pattern.stack_name}"
    return {
        key
        for path in files
        for key in json.loads(path.read_text()).get("Outputs", {})
        if not GENERATED_OUTPUT.search(key)
    }


@pytest.mark.parametrize("pattern_id", PATTERN_IDS)
def test_output_constants_are_the_stack_outputs(pattern_id):
    """Each unit's Outputs names exactly the outputs its stack declares in some variant, so
    the smoke checks and tests read names the templates carry."""
    pattern = catalog.by_id(pattern_id)
    assert output_constants(pattern) == snapshot_outputs(pattern)


@pytest.mark.parametrize("pattern_id", PATTERN_IDS)
def test_smoke_checks_require_declared_outputs(pattern_id):
    pattern = catalog.by_id(pattern_id)
    test = runner.smoke_tests()[pattern_id]
    parser = runner.parser_for(pattern, test)
    required = set(test.outputs_for(parser.parse_args([])))
    assert required and required <= output_constants(pattern)


def test_readme_and_pattern_pages_show_the_smoke_command():
    root = Path(__file__).resolve().parents[2]
    assert "| `smoke PATTERN" in (root / "README.md").read_text()
    for pattern in catalog.discover():
        page = (root / pattern.docs_page).read_text()
        assert f"python -m ml_refarch smoke {pattern.id}" in page, pattern.docs_page
        assert "scripts/smoke_" not in page, pattern.docs_page


def test_a_description_defaults_to_the_first_paragraph_of_the_smoke_module_docstring():
    for pattern_id, test in runner.smoke_tests().items():
        module = catalog.by_id(pattern_id).module(runner.MODULE)
        assert test.description == module.__doc__.split("\n\n")[0], pattern_id
        assert "\n" not in test.description and test.description.endswith("."), pattern_id


def test_a_declared_description_is_kept(monkeypatch: pytest.MonkeyPatch):
    pattern = catalog.by_id(PATTERN_IDS[0])
    module = pattern.module(runner.MODULE)
    declared = dataclasses.replace(module.SMOKE, description="Checks something else.")
    monkeypatch.setattr(module, runner.ATTRIBUTE, declared)
    assert runner.smoke_test(pattern).description == "Checks something else."
    parser = runner.parser_for(pattern, runner.smoke_test(pattern))
    assert parser.description == "Checks something else."


def test_a_client_that_cannot_be_made_is_a_setup_error(capsys):
    class NoClients:
        def client(self, name):
            raise botocore.exceptions.UnknownServiceError(
                service_name=name, known_service_names="s3"
            )

    assert runner.main(["public-endpoint"], session=NoClients()) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot create AWS clients for stack 'MlRefArch-PublicEndpoint': ")
    assert err.count("\n") == 1


def test_hooks_are_the_smoke_modules_functions_unless_declared(monkeypatch: pytest.MonkeyPatch):
    pattern = catalog.by_id(PATTERN_IDS[0])
    module = pattern.module(runner.MODULE)
    filled = runner.smoke_test(pattern)
    assert filled.plan is module.plan and filled.run is module.run
    declared = dataclasses.replace(module.SMOKE, plan=lambda args: "declared plan")
    monkeypatch.setattr(module, runner.ATTRIBUTE, declared)
    assert runner.smoke_test(pattern).plan(None) == "declared plan"


def test_optional_hooks_default_and_a_missing_run_is_an_error(monkeypatch: pytest.MonkeyPatch):
    pattern = next(
        catalog.by_id(pattern_id)
        for pattern_id in PATTERN_IDS
        if not hasattr(catalog.by_id(pattern_id).module(runner.MODULE), "check_arguments")
    )
    module = pattern.module(runner.MODULE)
    assert runner.smoke_test(pattern).check_arguments(None) is None
    monkeypatch.delattr(module, "run")
    with pytest.raises(TypeError, match=r"smoke defines no run\(\) for its smoke test"):
        runner.smoke_test(pattern)
