"""Smoke test of a deployed ``MlRefArch-BatchJobs`` stack.

Submits the job to a queue (``--queue fargate``, the default, or ``--queue spot``) and
follows it until it ends: the check passes when the job SUCCEEDED. With ``--workflow`` it
starts the state machine instead (which runs the Fargate job with ``submitJob.sync``) and
follows the execution. A Spot job may wait minutes for an instance: the environment
scales from 0 vCPUs.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke batch-jobs [--queue spot] [--workflow] [--dry-run]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.batch_jobs.outputs import Outputs

#: Where a Batch job ends (DescribeJobs ``status``).
FINAL_JOB_STATUSES = ("SUCCEEDED", "FAILED")

QUEUES = {
    "fargate": (Outputs.FARGATE_QUEUE_ARN, Outputs.FARGATE_JOB_DEFINITION_ARN),
    "spot": (Outputs.SPOT_QUEUE_ARN, Outputs.SPOT_JOB_DEFINITION_ARN),
}


def job_detail(job: Mapping[str, Any]) -> str:
    """The job's status and reason, the attempts it took and why earlier ones ended (a
    reclaimed Spot instance reads ``Host EC2 ... terminated``)."""
    attempts = job.get("attempts") or []
    text = f"{job.get('status')} after {len(attempts)} attempt(s)"
    if job.get("statusReason"):
        text += f": {job['statusReason']}"
    earlier = [a.get("statusReason") for a in attempts[:-1] if a.get("statusReason")]
    return text + (f" (earlier attempts: {'; '.join(earlier)})" if earlier else "")


def follow_job(batch: Any, job_id: str, deadline: smoke.Deadline, poll_seconds, log) -> smoke.Check:
    """Poll DescribeJobs until the job ends or the deadline passes."""
    last = ""
    while True:
        jobs = batch.describe_jobs(jobs=[job_id])["jobs"]
        if not jobs:
            return smoke.Check("job succeeded", False, f"job {job_id} not found")
        job = jobs[0]
        if job["status"] != last:
            log(f"job {job_id}: {job['status']}")
            last = job["status"]
        if job["status"] in FINAL_JOB_STATUSES:
            return smoke.Check("job succeeded", job["status"] == "SUCCEEDED", job_detail(job))
        if deadline.expired:
            return smoke.Check("job succeeded", False, f"still {job['status']} at the timeout")
        deadline.wait(poll_seconds)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", choices=tuple(QUEUES), default="fargate")
    parser.add_argument(
        "--workflow", action="store_true", help="start the state machine instead of SubmitJob"
    )


def plan(args: argparse.Namespace) -> str:
    action = (
        "start the workflow and follow the execution until it ends"
        if args.workflow
        else f"submit the job to the {args.queue} queue and follow it until it ends"
    )
    return f"dry run: would read stack {args.stack_name} and {action}"


def run(run: Run) -> list[smoke.Check]:
    args, outputs, log = run.args, run.outputs, run.log
    deadline = run.deadline()
    if args.workflow:
        sfn = run.client("stepfunctions")
        execution = sfn.start_execution(stateMachineArn=outputs[Outputs.STATE_MACHINE_ARN])
        log(f"started {execution['executionArn']}")
        description = smoke.follow_execution(
            sfn, execution["executionArn"], deadline, args.poll_seconds, log
        )
        status = description["status"]
        detail = description.get("output") or description.get("cause") or ""
        return [smoke.Check("workflow succeeded", status == "SUCCEEDED", f"{status}: {detail}")]
    batch = run.client("batch")
    queue_key, definition_key = QUEUES[args.queue]
    submitted = batch.submit_job(
        jobName=f"smoke-{args.queue}",
        jobQueue=outputs[queue_key],
        jobDefinition=outputs[definition_key],
    )
    log(f"submitted job {submitted['jobId']} to the {args.queue} queue")
    return [follow_job(batch, submitted["jobId"], deadline, args.poll_seconds, log)]


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.FARGATE_QUEUE_ARN,
        Outputs.FARGATE_JOB_DEFINITION_ARN,
        Outputs.SPOT_QUEUE_ARN,
        Outputs.SPOT_JOB_DEFINITION_ARN,
        Outputs.STATE_MACHINE_ARN,
    ),
    clients=("batch", "stepfunctions"),
    timeout_seconds=3600.0,
)
