"""The check step's command, run as CodeBuild runs it, over a pipeline-shaped assembly: a
deliberately insecure stack in a nested stage assembly fails the build (exit 1) and the
reports are written, and an acknowledgment recorded only in the stage's metadata holds."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET

from ml_refarch.delivery.stack import JUNIT_FILE, REPORTS_DIRECTORY, SARIF_FILE, check_command
from tests.compliance.test_stage_acknowledgments import staged_app
from tests.support import ROOT


def test_the_check_step_fails_on_the_insecure_stage_as_in_codebuild(tmp_path):
    staged_app(tmp_path / "cdk.out")
    (tmp_path / REPORTS_DIRECTORY).mkdir()
    command = shlex.split(check_command())
    assert command[:3] == ["python", "-m", "ml_refarch"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true"}
    environment["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    result = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]  # findings: CodeBuild fails the build
    assert "templates: 1 checked" in result.stdout
    junit = ET.parse(tmp_path / JUNIT_FILE).getroot()
    [nag] = [c for c in junit.iter("testcase") if c.get("name") == "cdk-nag"]
    lines = "\n".join(f"{f.get('message', '')}\n{f.text or ''}" for f in nag.iter("failure"))
    s1 = [line for line in lines.splitlines() if re.search(r"AwsSolutions-S1\b", line)]
    assert any("Open" in line for line in s1)
    assert not any("Acknowledged" in line for line in s1)
    assert (tmp_path / SARIF_FILE).stat().st_size > 0
