"""EventBridge Scheduler: what a schedule's role calls when the schedule fires.

- A universal target ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>`` calls that API
  action with the schedule's execution role, which needs the IAM action
  ``<service>:<ApiAction>`` on the resource the input names: "Using universal targets in
  EventBridge Scheduler"
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html).
- A templated target (the ARN of a state machine, function, queue or topic) calls that
  service's one templated action (Step Functions ``StartExecution``, Lambda ``Invoke``, SQS
  ``SendMessage``, SNS ``Publish``) on the resource, with the execution role: "Using
  templated targets in EventBridge Scheduler"
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html).
- A universal target that creates a SageMaker job (``sagemaker:createProcessingJob``,
  ``createTrainingJob``, ``createTransformJob``) is authorized on the job it names (its ARN
  from the request's job name), with ``iam:PassRole`` on the request's role passed to
  ``sagemaker.amazonaws.com`` and ``sagemaker:AddTags`` for tags in the request, as for a
  Step Functions task (:mod:`.workflows`); the job's own role then acts as :mod:`.jobs`
  derives from the request. Context attributes in the input
  (``<aws.scheduler.execution-id>`` and the others, "Adding context attributes in
  EventBridge Scheduler",
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html)
  are evaluated with the page's example values.
- ``cloudformation:DeleteStack`` on a stack deployed with a service role: CloudFormation
  deletes with that role; the caller may need ``iam:PassRole`` on it ("AWS CloudFormation
  service role",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html;
  the CDK CLI deploys with the bootstrap's ``cfn-exec`` role).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource, derives, placeholder_text
from ml_refarch.permissions.derived import jobs
from ml_refarch.permissions.derived.definitions import sagemaker_arn
from ml_refarch.permissions.scenarios import Call, Scenario

UNIVERSAL_TARGETS = (
    "https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html"
)
TEMPLATED_TARGETS = (
    "https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html"
)
SERVICE_ROLE = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html"
)
#: The role ``cdk bootstrap`` creates for CloudFormation to deploy with (default qualifier).
CDK_EXECUTION_ROLE = (
    "arn:aws:iam::${AWS::AccountId}:role/cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-"
    "${AWS::Region}"
)

#: Templated targets of the template's own resources: resource type -> the IAM action of the
#: API operation Scheduler calls on it.
TEMPLATED_ACTIONS = {
    "AWS::StepFunctions::StateMachine": "states:StartExecution",
    "AWS::Lambda::Function": "lambda:InvokeFunction",
    "AWS::SQS::Queue": "sqs:SendMessage",
    "AWS::SNS::Topic": "sns:Publish",
}
#: How a templated target's ARN is written for each type (a queue's ``Ref`` is its URL).
_TARGET_ARN = {
    "AWS::StepFunctions::StateMachine": "${%s}",
    "AWS::Lambda::Function": "${%s.Arn}",
    "AWS::SQS::Queue": "${%s.Arn}",
    "AWS::SNS::Topic": "${%s}",
}

#: The example value of each context attribute on its page.
CONTEXT_EXAMPLES = {
    "<aws.scheduler.schedule-arn>": "arn:aws:scheduler:us-east-1:111122223333:schedule/default/s",
    "<aws.scheduler.scheduled-time>": "2022-03-22T18:59:43Z",
    "<aws.scheduler.execution-id>": "d32c5kddcf5bb8c3",
    "<aws.scheduler.attempt-number>": "1",
}
#: SageMaker jobs a universal target creates: API action -> (ARN resource type, name key).
SAGEMAKER_JOBS = {
    "createProcessingJob": ("processing-job", "ProcessingJobName"),
    "createTrainingJob": ("training-job", "TrainingJobName"),
    "createTransformJob": ("transform-job", "TransformJobName"),
}

_UNIVERSAL = re.compile(r"arn:[^:]*:scheduler:::aws-sdk:([a-z0-9-]+):([A-Za-z0-9]+)")


def _input_resources(text: str | None) -> list[str]:
    """The ARNs the target's input names (``{"StackName": "${AWS::StackId}"}``; a Batch
    ``SubmitJob`` names its job queue and job definition, both authorized), else ``*``."""
    if not text:
        return ["*"]
    try:
        document = json.loads(text)
    except ValueError:
        return ["*"]
    found = [
        value
        for value in (document.values() if isinstance(document, dict) else ())
        if isinstance(value, str) and (value.startswith("arn:") or value.startswith("${"))
    ]
    return found or ["*"]


def _templated_target(resource: Resource, role: str) -> list[Scenario]:
    """The call of a templated target that is a resource of the template, if it is one."""
    for resource_type, action in TEMPLATED_ACTIONS.items():
        target = resource.resource_of(resource.get("Target.Arn"), resource_type)
        if target is not None:
            return [
                resource.scenario(
                    f"the schedule calls {action}",
                    role,
                    TEMPLATED_TARGETS,
                    [Call(action, _TARGET_ARN[resource_type] % target)],
                    on_behalf_of="EventBridge Scheduler, when the schedule fires",
                )
            ]
    return []


def _with_examples(text: str | None) -> str | None:
    for attribute, example in CONTEXT_EXAMPLES.items():
        text = text.replace(attribute, example) if text else text
    return text


def _lenient_text(value: Any) -> str | None:
    """Like :func:`placeholder_text`, but a part of an ``Fn::Join`` that cannot be read (a
    mapping lookup of a region's image, say) stands as ``?`` instead of losing the whole."""
    value = cfn.raw(value)
    joined = value.get("Fn::Join") if isinstance(value, dict) else None
    if isinstance(joined, list) and len(joined) == 2 and isinstance(joined[0], str):
        parts = [placeholder_text(part) for part in cfn.as_list(joined[1])]
        return joined[0].join(part if part is not None else "?" for part in parts)
    return placeholder_text(value)


def _sagemaker_job(resource: Resource, role: str, api_action: str, text: str | None):
    """The schedule's calls to start a SageMaker job, and the job role's scenario."""
    try:
        request = json.loads(_with_examples(text) or "{}")
    except ValueError:
        request = {}
    kind, name_key = SAGEMAKER_JOBS[api_action]
    arn = sagemaker_arn(kind, str(request.get(name_key, kind)).lower())
    calls = [Call(f"sagemaker:{api_action[0].upper()}{api_action[1:]}", arn)]
    if request.get("Tags"):
        calls.append(Call("sagemaker:AddTags", arn))
    if isinstance(request.get("RoleArn"), str):
        passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
        calls.append(Call("iam:PassRole", request["RoleArn"], passed))
    on_behalf = "EventBridge Scheduler, when the schedule fires"
    return [
        resource.scenario(
            f"the schedule calls {calls[0].action}",
            role,
            UNIVERSAL_TARGETS,
            calls,
            on_behalf_of=on_behalf,
        ),
        *jobs.job_scenarios(resource, "", api_action, request, started_by="the schedule"),
    ]


@derives("AWS::Scheduler::Schedule")
def schedule_target(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.get("Target.RoleArn"))
    if role is None:
        return []
    target = _UNIVERSAL.fullmatch(
        (resource.text(resource.get("Target.Arn")) or "").replace("${AWS::Partition}", "aws")
    )
    if target is None:
        return _templated_target(resource, role)
    service, api_action = target.groups()
    if service == "sagemaker" and api_action in SAGEMAKER_JOBS:
        return _sagemaker_job(
            resource, role, api_action, _lenient_text(resource.get("Target.Input"))
        )
    action = f"{service}:{api_action[0].upper()}{api_action[1:]}"
    targets = _input_resources(resource.text(resource.get("Target.Input")))
    scenarios = [
        resource.scenario(
            f"the schedule calls {action}",
            role,
            UNIVERSAL_TARGETS,
            [Call(action, target) for target in targets],
            on_behalf_of="EventBridge Scheduler, when the schedule fires",
        )
    ]
    if action == "cloudformation:DeleteStack":
        passed = {"iam:PassedToService": "cloudformation.amazonaws.com"}
        scenarios.append(
            resource.scenario(
                "CloudFormation deletes the stack with the role it was deployed with",
                role,
                SERVICE_ROLE,
                [Call("iam:PassRole", CDK_EXECUTION_ROLE, passed)],
                on_behalf_of="EventBridge Scheduler, when the schedule fires",
            )
        )
    return scenarios
