"""Bad scenario files fail with a clear message, never a traceback; every unit's file parses.

A scenario file is input people write by hand (``stacks/<pattern>/scenarios.toml``, or one
given to ``python -m ml_refarch permissions --scenarios FILE``): each kind of mistake is
reported as a :class:`ScenarioError` that names the file, the scenario and what is wrong,
and the command turns it into one ``error:`` line and exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml_refarch import catalog
from ml_refarch.__main__ import main
from ml_refarch.permissions.run import evaluate
from ml_refarch.permissions.scenarios import ScenarioError, load

#: A template with one role that reads one bucket: enough to fit scenarios to.
TEMPLATE = {
    "Resources": {
        "DataBucketA1B2C3D4": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "NotebookRoleA1B2C3D4": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                },
                "Policies": [
                    {
                        "PolicyName": "read",
                        "PolicyDocument": {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "s3:GetObject",
                                    "Resource": {
                                        "Fn::Join": [
                                            "",
                                            [{"Fn::GetAtt": ["DataBucketA1B2C3D4", "Arn"]}, "/*"],
                                        ]
                                    },
                                }
                            ]
                        },
                    }
                ],
            },
        },
    }
}

DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"


def scenario_text(
    *,
    principal: str = "NotebookRole",
    action: str = "s3:GetObject",
    resource: str = "${DataBucket.Arn}/train.csv",
    doc: str = DOC,
    extra_scenario: str = "",
    extra_call: str = "",
) -> str:
    return f"""
[[scenario]]
name = "the notebook reads training data"
principal = "{principal}"
doc = "{doc}"
{extra_scenario}

[[scenario.call]]
action = "{action}"
resource = "{resource}"
{extra_call}
"""


#: (what is wrong, file text, words the message must contain). Each fails when the file is
#: read, or when it is fitted to the template (principal and placeholders).
BAD_FILES = [
    (
        "unknown principal",
        scenario_text(principal="NoSuchRole"),
        ["'the notebook reads training data'", "unknown principal 'NoSuchRole'", "NotebookRole"],
    ),
    (
        "malformed action",
        scenario_text(action="s3 GetObject"),
        ["call 1", "malformed action 's3 GetObject'", "service:Action"],
    ),
    (
        "action without a service",
        scenario_text(action="GetObject"),
        ["malformed action 'GetObject'"],
    ),
    (
        "unknown placeholder",
        scenario_text(resource="${NoSuchBucket.Arn}/train.csv"),
        ["call 1", "no resource 'NoSuchBucket' in the template"],
    ),
    (
        "placeholder attribute the resource lacks",
        scenario_text(resource="${DataBucket.NoSuchAttribute}"),
        ["DataBucket has no value for NoSuchAttribute"],
    ),
    (
        "doc that is not an https address",
        scenario_text(doc="http://docs.aws.amazon.com/page.html"),
        ["'doc' must be the https:// address of the page"],
    ),
    (
        "unknown scenario key",
        scenario_text(extra_scenario='principle = "NotebookRole"'),
        ["scenario 1", "unknown keys ['principle']"],
    ),
    (
        "unknown call key",
        scenario_text(extra_call='expected = "deny"'),
        ["call 1", "unknown keys ['expected']"],
    ),
    (
        "unknown top-level key",
        'title = "x"\n' + scenario_text(),
        ["unknown top-level keys ['title']"],
    ),
    (
        "bad expect",
        scenario_text(extra_call='expect = "maybe"'),
        ["'expect' is 'allow' or 'deny', not 'maybe'"],
    ),
    ("bad TOML", '[[scenario]\nname = "x"\n', ["not valid TOML"]),
    ("no scenarios", "", ["no [[scenario]] tables"]),
    (
        "scenario without calls",
        f'[[scenario]]\nname = "x"\nprincipal = "NotebookRole"\ndoc = "{DOC}"\n',
        ["needs at least one [[scenario.call]]"],
    ),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(text)
    return path


def fit(path: Path) -> None:
    """Read the file and evaluate it against :data:`TEMPLATE`."""
    evaluate("Test", TEMPLATE, load(path))


@pytest.mark.parametrize(
    ("text", "words"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_a_bad_file_fails_with_a_message_that_says_where_and_what(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as raised:
        fit(path)
    message = str(raised.value)
    assert message.startswith(str(path)), message
    for word in words:
        assert word in message, message


def test_a_missing_file_fails_with_a_message(tmp_path):
    missing = tmp_path / "nowhere" / "scenarios.toml"
    with pytest.raises(ScenarioError, match=r"nowhere/scenarios\.toml: cannot read"):
        load(missing)


def test_a_good_file_fits_the_template(tmp_path):
    result = evaluate("Test", TEMPLATE, load(write(tmp_path, scenario_text())))
    assert result.ok and [r.decision.outcome for r in result.results] == ["Allow"]


# --- through the command ------------------------------------------------------------------


@pytest.fixture
def assembly(tmp_path) -> Path:
    """A cloud assembly with the one stack of :data:`TEMPLATE`."""
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "Test.template.json").write_text(json.dumps(TEMPLATE))
    manifest = {
        "artifacts": {
            "Test": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Test.template.json"},
            }
        }
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@pytest.mark.parametrize(
    ("text", "words"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_the_command_reports_a_bad_file_in_one_line_with_status_2(
    tmp_path, assembly, capsys, text, words
):
    path = write(tmp_path, text)
    assert main(["permissions", str(assembly), "--scenarios", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    for word in words:
        assert word in lines[0]


def test_the_command_reports_a_missing_file_with_status_2(tmp_path, assembly, capsys):
    missing = tmp_path / "missing.toml"
    assert main(["permissions", str(assembly), "--scenarios", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {missing}: cannot read") and err.count("\n") == 1


def test_the_command_passes_a_good_file(tmp_path, assembly, capsys):
    path = write(tmp_path, scenario_text())
    assert main(["permissions", str(assembly), "--scenarios", str(path)]) == 0
    assert "1/1 calls as expected" in capsys.readouterr().out


# --- the units' files ---------------------------------------------------------------------


def unit_files() -> list[Path]:
    return [
        pattern.file("scenarios.toml")
        for pattern in catalog.discover()
        if pattern.file("scenarios.toml").is_file()
    ]


def test_the_units_that_need_written_scenarios_have_them():
    # The patterns whose people and code act at run time as roles no template describes.
    units = {path.parent.name for path in unit_files()}
    assert {"isolated_notebook", "studio_domain", "fsx_training"} <= units


@pytest.mark.parametrize("path", unit_files(), ids=lambda path: path.parent.name)
def test_every_units_scenario_file_parses(path):
    scenarios = load(path)
    assert scenarios and all(s.doc.startswith("https://docs.aws.amazon.com/") for s in scenarios)
    names = [s.name for s in scenarios]
    assert len(names) == len(set(names)), "scenario names repeat"


def test_a_unit_file_takes_the_scenarios_of_a_shared_construct(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "environment.toml").write_text(
        '[[scenario]]\nname = "shared"\nprincipal = "R"\ndoc = "https://docs.aws.amazon.com/x"\n'
        '[[scenario.call]]\naction = "s3:GetObject"\nresource = "*"\n'
    )
    unit = tmp_path / "scenarios.toml"
    unit.write_text('include = ["environment"]\n')
    assert [s.name for s in load(unit, shared_dir=shared)] == ["shared"]
    unit.write_text('include = ["nothing"]\n')
    with pytest.raises(
        ScenarioError, match=r"includes 'nothing', which is no shared .*environment"
    ):
        load(unit, shared_dir=shared)
    (shared / "nested.toml").write_text('include = ["environment"]\n')
    unit.write_text('include = ["nested"]\n')
    with pytest.raises(ScenarioError, match="a shared scenario file includes nothing"):
        load(unit, shared_dir=shared)


def test_both_notebook_patterns_take_the_notebook_environment_s_scenarios():
    for pattern_id in ("isolated-notebook", "studio-domain"):
        path = catalog.by_id(pattern_id).file("scenarios.toml")
        sources = {scenario.source for scenario in load(path)}
        assert any(source.endswith("notebook_environment.toml") for source in sources)
