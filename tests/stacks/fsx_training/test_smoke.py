"""ml_refarch/stacks/fsx_training/smoke.py against fake AWS clients: every check, both ways."""

from __future__ import annotations

import datetime

import pytest

from ml_refarch.stacks.fsx_training import PATTERN
from ml_refarch.stacks.fsx_training.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Pages, Session, runner_for

main = runner_for(PATTERN)

BUCKET = "training-bucket"
FILE_SYSTEM_ID = "fs-0123456789abcdef0"
OUTPUTS = {
    Outputs.FILE_SYSTEM_ID: FILE_SYSTEM_ID,
    Outputs.BUCKET_NAME: BUCKET,
    Outputs.DATA_URI: f"s3://{BUCKET}/data/",
    Outputs.OUTPUT_URI: f"s3://{BUCKET}/output/",
}


def make_session(
    *,
    lifecycle: str = "AVAILABLE",
    deployment: str = "SCRATCH_2",
    association: str | None = "AVAILABLE",
    data_keys: tuple[str, ...] = ("data/train/part-0000.csv",),
    artifacts: tuple[str, ...] = (),
    status: str = "CREATE_COMPLETE",
) -> Session:
    cloudformation = fakes.stack(OUTPUTS, status)
    file_system = {
        "FileSystemId": FILE_SYSTEM_ID,
        "Lifecycle": lifecycle,
        "FileSystemType": "LUSTRE",
        "LustreConfiguration": {"DeploymentType": deployment},
    }
    associations = []
    if association is not None:
        associations.append(
            {
                "FileSystemPath": "/data",
                "DataRepositoryPath": f"s3://{BUCKET}/data/",
                "Lifecycle": association,
            }
        )
    fsx = Fake(
        describe_file_systems={"FileSystems": [file_system]},
        describe_data_repository_associations={"Associations": associations},
    )
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    contents = [
        {"Key": f"output/{key}", "LastModified": now + datetime.timedelta(minutes=i)}
        for i, key in enumerate(artifacts)
    ]
    s3 = Fake(list_objects_v2={"Contents": [{"Key": key} for key in data_keys]})
    s3.get_paginator = lambda name: Pages([{"Contents": contents}])
    return Session(cloudformation=cloudformation, fsx=fsx, s3=s3)


def test_all_checks_pass_on_an_available_linked_file_system_with_data(capsys):
    assert main([], session=make_session()) == 0
    out = capsys.readouterr().out
    for name in ("file system available", "data repository association", "training data present"):
        assert "PASS" in out and name in out


@pytest.mark.parametrize(
    ("options", "failing"),
    [
        ({"lifecycle": "CREATING"}, "file system available"),
        ({"deployment": "SCRATCH_1"}, "Lustre deployment type"),
        ({"association": None}, "data repository association"),
        ({"association": "FAILED"}, "data repository association"),
        ({"data_keys": ()}, "training data present"),
    ],
)
def test_each_problem_fails_its_check(capsys, options, failing):
    assert main([], session=make_session(**options)) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and failing in line for line in out.splitlines())


def test_persistent_file_system_without_a_key_fails():
    session = make_session(deployment="PERSISTENT_2")
    assert main([], session=session) == 1


def test_train_runs_the_train_command_and_finds_the_artifact(capsys):
    calls = []

    def run_training(argv):
        calls.append(argv)
        return 0

    session = make_session(artifacts=("smoke-20260101-000000-000/output/model.tar.gz",))
    assert main(["--train"], session=session, run_training=run_training) == 0
    assert calls == [
        [
            "--stack",
            "MlRefArch-FsxTraining",
            "--job-name-prefix",
            "smoke",
            "--epochs",
            "3",
            "--wait",
        ]
    ]
    assert "model.tar.gz" in capsys.readouterr().out


def test_train_failure_or_missing_artifact_fails():
    assert main(["--train"], session=make_session(), run_training=lambda argv: 1) == 1
    assert main(["--train"], session=make_session(), run_training=lambda argv: 0) == 1


def test_training_is_not_started_when_the_file_system_is_not_ready():
    calls = []
    session = make_session(lifecycle="CREATING")
    assert main(["--train"], session=session, run_training=calls.append) == 1
    assert calls == []


def test_a_stack_that_is_not_complete_is_a_setup_error(capsys):
    assert main([], session=make_session(status="ROLLBACK_COMPLETE")) == 2
    assert "error:" in capsys.readouterr().err


def test_dry_run_needs_no_aws(capsys):
    assert main(["--dry-run", "--train"], session=None) == 0
    assert "would check stack MlRefArch-FsxTraining" in capsys.readouterr().out
