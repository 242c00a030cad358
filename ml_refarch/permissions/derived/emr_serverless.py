"""EMR Serverless: what a state machine calls to run a job, and what the job's role does.

- The optimized integration ``emr-serverless:startJobRun`` calls ``StartJobRun`` on the
  application and passes the request's ``ExecutionRoleArn`` (``iam:PassRole`` with
  ``iam:PassedToService`` ``emr-serverless.amazonaws.com``); with ``.sync`` it also calls
  ``GetJobRun`` and ``CancelJobRun`` on the application's job runs and manages the rule
  ``StepFunctionsGetEventsForEMRServerlessJobRule``: "IAM policies for Amazon EMR
  Serverless" (https://docs.aws.amazon.com/step-functions/latest/dg/emr-serverless-iam.html).
- The job runs as the execution role, which reads the entry point from S3 ("Job runtime
  roles for Amazon EMR Serverless",
  https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/security-iam-runtime-role.html)
  and writes the logs the application's ``MonitoringConfiguration`` asks for: objects under
  the S3 ``LogUri`` (encrypted with its ``EncryptionKeyArn``) and log streams in the
  CloudWatch Logs group ("Storing logs",
  https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/logging.html).

What the job's own code reads and writes is the pattern's to say (its unit's
scenarios.toml).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource
from ml_refarch.permissions.derived.storage import location, read_calls, write_calls
from ml_refarch.permissions.scenarios import Call, Scenario
from ml_refarch.permissions.values import ACCOUNT, REGION

SFN_EMR_SERVERLESS = "https://docs.aws.amazon.com/step-functions/latest/dg/emr-serverless-iam.html"
RUNTIME_ROLE = (
    "https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/security-iam-runtime-role.html"
)
LOGGING = "https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/logging.html"
SERVICE = "emr-serverless.amazonaws.com"
SYNC_RULE = (
    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
    "StepFunctionsGetEventsForEMRServerlessJobRule"
)
APPLICATION = "AWS::EMRServerless::Application"
#: What the job role does in the CloudWatch Logs group ("Storing logs").
CLOUDWATCH_LOG_ACTIONS = (
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
)


def _application(resource: Resource, request: Mapping[str, Any]) -> str | None:
    """The logical id of the template's application the request names."""
    text = request.get("ApplicationId")
    match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.ApplicationId)?\}", text or "")
    if match and match.group(1) in resource.of_type(APPLICATION):
        return match.group(1)
    return None


def _role(resource: Resource, request: Mapping[str, Any]) -> str | None:
    match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}", request.get("ExecutionRoleArn") or "")
    if match and match.group(1) in resource.of_type("AWS::IAM::Role"):
        return match.group(1)
    return None


def start_job_run_calls(
    resource: Resource, pattern: str | None, request: Mapping[str, Any]
) -> list[Call]:
    """The state machine role's calls for a ``startJobRun`` task."""
    application = _application(resource, request)
    arn = "${" + application + ".Arn}" if application else "*"
    calls = [Call("emr-serverless:StartJobRun", arn)]
    if pattern == "sync":
        run = f"{arn}/jobruns/run" if application else "*"
        calls += [Call("emr-serverless:GetJobRun", run), Call("emr-serverless:CancelJobRun", run)]
        calls += [
            Call(a, SYNC_RULE)
            for a in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
        ]
    role = request.get("ExecutionRoleArn")
    if isinstance(role, str):
        calls.append(Call("iam:PassRole", role, {"iam:PassedToService": SERVICE}))
    return calls


def _log_calls(resource: Resource, application: str) -> list[Call]:
    monitoring = resource.properties_of(application).get("MonitoringConfiguration")
    calls: list[Call] = []
    s3_logs = cfn.raw(cfn.get(monitoring, "S3MonitoringConfiguration")) or {}
    place = location(resource, s3_logs.get("LogUri"))
    if place is not None:
        log_object = place.object_arn(f"applications/{application.lower()}/jobs/run/stdout.gz")
        calls += write_calls(resource, place, log_object, s3_logs.get("EncryptionKeyArn"))
    cloudwatch = cfn.raw(cfn.get(monitoring, "CloudWatchLoggingConfiguration")) or {}
    group = resource.resource_of(cloudwatch.get("LogGroupName"), "AWS::Logs::LogGroup")
    if cfn.truthy(cloudwatch.get("Enabled")) and group is not None:
        name = resource.properties_of(group).get("LogGroupName")
        name = name if isinstance(name, str) else group.lower()
        group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
        calls += [Call(action, f"{group_arn}:*") for action in CLOUDWATCH_LOG_ACTIONS[:2]]
        calls += [
            Call(action, f"{group_arn}:log-stream:run") for action in CLOUDWATCH_LOG_ACTIONS[2:]
        ]
        key = resource.resource_of(cloudwatch.get("EncryptionKeyArn"), "AWS::KMS::Key")
        if key is not None:
            calls += [
                Call(action, "${" + key + ".Arn}")
                for action in ("kms:GenerateDataKey", "kms:Encrypt")
            ]
    return calls


def job_role_scenarios(
    resource: Resource, state: str, request: Mapping[str, Any]
) -> list[Scenario]:
    """What the execution role a ``startJobRun`` task passes does while the job runs."""
    role, application = _role(resource, request), _application(resource, request)
    if role is None or application is None:
        return []
    scenarios = []
    entry_point = cfn.get(request, "JobDriver.SparkSubmit.EntryPoint")
    script = location(resource, entry_point) if isinstance(entry_point, str) else None
    if script is not None:
        scenarios.append(
            resource.scenario(
                f"the job of state {state} reads its entry point",
                role,
                RUNTIME_ROLE,
                read_calls(resource, script, script.object_arn()),
                on_behalf_of="EMR Serverless, running the job",
            )
        )
    log_calls = _log_calls(resource, application)
    if log_calls:
        scenarios.append(
            resource.scenario(
                f"the job of state {state} writes the application's logs",
                role,
                LOGGING,
                log_calls,
                on_behalf_of="EMR Serverless, running the job",
            )
        )
    return scenarios
