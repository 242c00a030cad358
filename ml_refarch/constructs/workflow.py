"""What every Step Functions workflow of the project shares: its role, logs, tracing, alerts.

Notes section "Step functions": orchestration with retries outside the code and an auditable
history. A workflow here runs as a role with one managed policy (no inline policy) that
allows exactly what its states call, plus what every workflow needs: publishing failures to
a KMS-encrypted SNS topic, delivering its execution history (level ALL) to an encrypted log
group, and sending X-Ray traces.

The functions build in the caller's scope, so the construct ids (``ExecutionLogs``,
``WorkflowRole``, ``WorkflowPolicy``, ``NotifyFailure``, ``Failed``) sit directly in the stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs.log_group import encrypted_log_group
from ml_refarch.constructs.service_role import service_role

#: API errors worth retrying: throttling and account limits clear up; others do not.
RETRYABLE_ERRORS = [
    "SageMaker.AmazonSageMakerException",
    "SageMaker.ResourceLimitExceededException",
    "ThrottlingException",
]


def states_resource(action: str) -> str:
    """The ARN of a Step Functions service integration (``sns:publish``, ...)."""
    return f"arn:{cdk.Aws.PARTITION}:states:::{action}"


def notify_failure(
    scope: Construct, *, topic: sns.ITopic, subject: str, error: str
) -> sfn.IChainable:
    """Publish the failed state's input to ``topic``, then fail the run with ``error``."""
    return sfn.CustomState(
        scope,
        "NotifyFailure",
        state_json={
            "Type": "Task",
            "Resource": states_resource("sns:publish"),
            "Parameters": {
                "TopicArn": topic.topic_arn,
                "Subject": subject,
                "Message.$": "States.JsonToString($)",
            },
        },
    ).next(sfn.Fail(scope, "Failed", error=error, cause="see the SNS message"))


#: The EventBridge rules Step Functions manages in the account to learn when a SageMaker
#: job started with a ``.sync`` integration ends; the state machine's role must be allowed to
#: create and read them (Step Functions developer guide, "Create and manage Amazon SageMaker
#: AI jobs with Step Functions", its IAM policies section).
SYNC_RULES = {
    "training": "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "tuning": "StepFunctionsGetEventsForSageMakerTuningJobsRule",
    "transform": "StepFunctionsGetEventsForSageMakerTransformJobsRule",
}


def sync_training_job(sagemaker_arn_prefix: str) -> iam.PolicyStatement:
    """What a state machine running a training job with ``.sync`` calls on the job (tags
    included); ``sagemaker_arn_prefix`` is ``arn:<partition>:sagemaker:<region>:<account>``."""
    return iam.PolicyStatement(
        sid="Train",
        actions=[
            "sagemaker:CreateTrainingJob",
            "sagemaker:DescribeTrainingJob",
            "sagemaker:StopTrainingJob",
            "sagemaker:AddTags",
            "sagemaker:ListTags",
        ],
        resources=[f"{sagemaker_arn_prefix}:training-job/*"],
    )


def sync_job_events(scope: Construct, *jobs: str) -> iam.PolicyStatement:
    """What a state machine running ``jobs`` (keys of :data:`SYNC_RULES`) with ``.sync``
    needs on the managed rules that report their ends."""
    stack = cdk.Stack.of(scope)
    rules = f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule"
    return iam.PolicyStatement(
        sid="SyncJobEvents",
        actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources=[f"{rules}/{SYNC_RULES[job]}" for job in jobs],
    )


def training_job_state(
    scope: Construct, state_id: str, request: Mapping[str, Any]
) -> sfn.CustomState:
    """A ``createTrainingJob.sync`` task sending ``request`` (a CreateTrainingJob request
    without ``TrainingJobName``) with the job named ``train-<$.run.id>``; the job's name and
    artifacts land under ``$.trained`` (``job``, ``artifacts``)."""
    return sfn.CustomState(
        scope,
        state_id,
        state_json={
            "Type": "Task",
            "Resource": states_resource("sagemaker:createTrainingJob.sync"),
            "Parameters": {
                "TrainingJobName.$": "States.Format('train-{}', $.run.id)",
                **request,
            },
            "ResultSelector": {
                "job.$": "$.TrainingJobName",
                "artifacts.$": "$.ModelArtifacts.S3ModelArtifacts",
            },
            "ResultPath": "$.trained",
        },
    )


def retried(
    state: sfn.CustomState,
    *,
    errors: list[str] | tuple[str, ...] = RETRYABLE_ERRORS,
    interval_seconds: int = 10,
    max_attempts: int = 4,
) -> sfn.CustomState:
    """``state`` retrying ``errors`` with exponential backoff (each wait twice the last)."""
    state.add_retry(
        errors=list(errors),
        interval=cdk.Duration.seconds(interval_seconds),
        max_attempts=max_attempts,
        backoff_rate=2.0,
    )
    return state


def caught(state: sfn.CustomState, notify: sfn.IChainable) -> sfn.CustomState:
    """``state`` sending any error it does not retry to ``notify``, with the error under
    ``$.error`` beside the run's input."""
    state.add_catch(notify, errors=["States.ALL"], result_path="$.error")
    return state


def retried_task(
    scope: Construct,
    state_id: str,
    resource: str,
    state: Mapping[str, Any],
    errors: Sequence[str],
    *,
    max_attempts: int = 4,
) -> sfn.CustomState:
    """The Task state ``state_id`` calling ``resource`` (``state`` holds its other fields),
    retrying ``errors`` from 5 seconds on (:func:`retried`)."""
    task = sfn.CustomState(
        scope, state_id, state_json={"Type": "Task", "Resource": resource, **state}
    )
    return retried(task, errors=list(errors), interval_seconds=5, max_attempts=max_attempts)


def starter_role(
    scope: Construct,
    name: str,
    *,
    description: str,
    sid: str,
    state_machine: sfn.IStateMachine,
    same_account: bool = True,
) -> iam.Role:
    """The role ``<name>Role`` with which EventBridge rules start ``state_machine`` (only
    rules of the stack's account when ``same_account``)."""
    role, _ = service_role(
        scope,
        name,
        service="events.amazonaws.com",
        description=description,
        statements=[
            iam.PolicyStatement(
                sid=sid,
                actions=["states:StartExecution"],
                resources=[state_machine.state_machine_arn],
            )
        ],
        conditions=(
            {"StringEquals": {"aws:SourceAccount": cdk.Stack.of(scope).account}}
            if same_account
            else None
        ),
    )
    return role


@dataclass(frozen=True)
class Polling:
    """A bounded status loop: wait ``interval_seconds`` (the Wait state ``wait_id``), run
    ``describe``, count the poll, then ``choice``; after ``max_polls`` polls, ``give_up``."""

    wait_id: str
    interval_seconds: int
    max_polls: int


def bounded_polling(
    scope: Construct,
    polling: Polling,
    *,
    describe: sfn.IChainable,
    choice: sfn.Choice,
    give_up: sfn.IChainable,
) -> sfn.Chain:
    """``StartPolling`` (the count at 0), then the loop of ``polling``: ``choice`` keeps its
    own branches (done, failed) and gains the poll limit and, otherwise, another wait."""
    wait = sfn.Wait(
        scope,
        polling.wait_id,
        time=sfn.WaitTime.duration(cdk.Duration.seconds(polling.interval_seconds)),
    )
    count = sfn.Pass(
        scope,
        "CountPoll",
        parameters={"count.$": "States.MathAdd($.polls.count, 1)"},
        result_path="$.polls",
    )
    choice.when(
        sfn.Condition.number_greater_than_equals("$.polls.count", polling.max_polls), give_up
    ).otherwise(wait)
    first = sfn.Pass(scope, "StartPolling", parameters={"count": 0}, result_path="$.polls")
    return first.next(wait).next(describe).next(count).next(choice)


@dataclass(frozen=True)
class AuditedWorkflow:
    """A state machine with its role, policy and execution log group.

    Attributes:
        state_machine: the state machine (logs at level ALL, X-Ray tracing).
        role: the role it runs as.
        policy: the role's one managed policy.
        log_group: the encrypted execution history.
    """

    state_machine: sfn.StateMachine
    role: iam.Role
    policy: iam.ManagedPolicy
    log_group: logs.ILogGroup


def audited_workflow(
    scope: Construct,
    construct_id: str,
    *,
    definition: sfn.IChainable,
    description: str,
    statements: Sequence[iam.PolicyStatement],
    wildcard_reason: str,
    wildcard_findings: Sequence[str],
    alert_topic: sns.ITopic,
    encryption_key: kms.IKey,
    log_retention: logs.RetentionDays,
    log_removal_policy: cdk.RemovalPolicy,
    timeout: cdk.Duration,
    state_machine_name: str | None = None,
) -> AuditedWorkflow:
    """A state machine that logs, traces and alerts, with a role of exactly what it calls.

    Args:
        construct_id: the state machine's id.
        definition: its states.
        description: the role's description.
        statements: what the states call; the policy follows them with ``Alerts`` and
            ``AlertsKey`` (publish to ``alert_topic``), ``ExecutionLogs`` and ``Tracing``.
        wildcard_reason / wildcard_findings: the acknowledgment of the wildcards that
            ``statements`` need (job names chosen per run), with its reason.
        alert_topic: where the states publish failures; encrypted with ``encryption_key``.
        encryption_key: the key of the topic and the log group.
        log_retention / log_removal_policy: of the execution log group.
        timeout: the longest a run may take.
        state_machine_name: Default: a generated name.
    """
    log_group = encrypted_log_group(
        scope,
        "ExecutionLogs",
        encryption_key=encryption_key,
        retention=log_retention,
        removal_policy=log_removal_policy,
    )
    role, policy = service_role(
        scope,
        "Workflow",
        service="states.amazonaws.com",
        description=description,
        statements=[*statements, *_shared_statements(alert_topic, encryption_key)],
    )
    acknowledge(policy, wildcard_reason, *wildcard_findings)
    acknowledge(
        policy,
        "CloudWatch Logs' log-delivery actions, which Step Functions uses to write "
        "execution history, and X-Ray's trace actions have no resource-level permissions.",
        "AwsSolutions-IAM5[Resource::*]",
    )
    state_machine = sfn.StateMachine(
        scope,
        construct_id,
        state_machine_name=state_machine_name,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        role=role.without_policy_updates(),
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
        ),
        tracing_enabled=True,
        timeout=timeout,
    )
    # The state machine checks at creation that its role may deliver logs.
    state_machine.node.add_dependency(policy)
    return AuditedWorkflow(
        state_machine=state_machine, role=role, policy=policy, log_group=log_group
    )


def _shared_statements(
    alert_topic: sns.ITopic, encryption_key: kms.IKey
) -> list[iam.PolicyStatement]:
    """What every workflow needs: publish failures, deliver its logs, send its traces."""
    return [
        iam.PolicyStatement(
            sid="Alerts", actions=["sns:Publish"], resources=[alert_topic.topic_arn]
        ),
        iam.PolicyStatement(
            sid="AlertsKey",
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=[encryption_key.key_arn],
        ),
        iam.PolicyStatement(
            sid="ExecutionLogs",
            actions=[
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="Tracing",
            actions=[
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            resources=["*"],
        ),
    ]
