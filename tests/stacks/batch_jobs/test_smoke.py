"""ml_refarch/stacks/batch_jobs/smoke.py against fake AWS clients."""

from __future__ import annotations

import pytest

from ml_refarch.stacks.batch_jobs import PATTERN
from ml_refarch.stacks.batch_jobs.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)

ARN = "arn:aws:batch:us-east-1:123456789012"
OUTPUTS = {
    Outputs.FARGATE_QUEUE_ARN: f"{ARN}:job-queue/fargate",
    Outputs.FARGATE_JOB_DEFINITION_ARN: f"{ARN}:job-definition/fargate-job:1",
    Outputs.SPOT_QUEUE_ARN: f"{ARN}:job-queue/spot",
    Outputs.SPOT_JOB_DEFINITION_ARN: f"{ARN}:job-definition/spot-job:1",
    Outputs.STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:batch",
}


def job(status: str, attempts: int = 1, reason: str = "") -> dict:
    return {
        "jobs": [
            {
                "jobId": "job-1",
                "status": status,
                "statusReason": reason,
                "attempts": [{"statusReason": "Host EC2 (instance i-1) terminated."}]
                * (attempts - 1)
                + [{"statusReason": reason}],
            }
        ]
    }


def session(*statuses: dict, executions=()) -> Session:
    return Session(
        cloudformation=fakes.stack(OUTPUTS),
        batch=Fake(submit_job={"jobId": "job-1"}, describe_jobs=list(statuses)),
        stepfunctions=Fake(
            start_execution={"executionArn": "arn:aws:states:::execution:batch:run-1"},
            describe_execution=[
                {"status": s, "output": "{}", "cause": "job failed"} for s in executions
            ],
        ),
    )


def test_a_fargate_job_that_succeeds_passes(capsys):
    aws = session(job("RUNNABLE"), job("RUNNING"), job("SUCCEEDED"))
    assert main([], session=aws, sleep=lambda s: None) == 0
    (name, kwargs), *_ = aws.clients["batch"].calls
    assert name == "submit_job"
    assert kwargs["jobQueue"] == OUTPUTS[Outputs.FARGATE_QUEUE_ARN]
    assert kwargs["jobDefinition"] == OUTPUTS[Outputs.FARGATE_JOB_DEFINITION_ARN]
    assert "PASS" in capsys.readouterr().out


def test_the_spot_queue_is_chosen_and_a_reclaimed_attempt_that_then_succeeds_passes(capsys):
    aws = session(job("STARTING"), job("SUCCEEDED", attempts=2))
    assert main(["--queue", "spot"], session=aws, sleep=lambda s: None) == 0
    (_, kwargs), *_ = aws.clients["batch"].calls
    assert kwargs["jobQueue"] == OUTPUTS[Outputs.SPOT_QUEUE_ARN]
    out = capsys.readouterr().out
    assert "SUCCEEDED after 2 attempt(s) (earlier attempts: Host EC2 (instance i-1)" in out


def test_a_failed_job_fails_with_its_reason(capsys):
    aws = session(job("RUNNING"), job("FAILED", attempts=3, reason="Essential container exited"))
    assert main([], session=aws, sleep=lambda s: None) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "Essential container exited" in out


def test_a_job_that_outlasts_the_timeout_fails(capsys):
    aws = session(*[job("RUNNABLE")] * 10)
    code = main(
        ["--timeout-seconds", "60", "--poll-seconds", "30"], session=aws, sleep=lambda s: None
    )
    assert code == 1
    assert "still RUNNABLE at the timeout" in capsys.readouterr().out


@pytest.mark.parametrize(("final", "code"), [("SUCCEEDED", 0), ("FAILED", 1)])
def test_the_workflow_mode_follows_the_execution(capsys, final, code):
    aws = session(executions=("RUNNING", final))
    assert main(["--workflow"], session=aws, sleep=lambda s: None) == code
    (name, kwargs), *_ = aws.clients["stepfunctions"].calls
    assert name == "start_execution"
    assert kwargs["stateMachineArn"] == OUTPUTS[Outputs.STATE_MACHINE_ARN]
    assert aws.clients["batch"].calls == []


def test_dry_run_needs_no_aws(capsys):
    assert main(["--dry-run", "--queue", "spot"], session=None) == 0
    out = capsys.readouterr().out
    assert "would read stack MlRefArch-BatchJobs" in out and "spot queue" in out
