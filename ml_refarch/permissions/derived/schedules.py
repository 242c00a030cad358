"""EventBridge Scheduler: what a schedule's role calls when the schedule fires.

- A universal target ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>`` calls that API
  action with the schedule's execution role, which needs the IAM action
  ``<service>:<ApiAction>`` on the resource the input names: "Using universal targets in
  EventBridge Scheduler"
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html).
- ``cloudformation:DeleteStack`` on a stack deployed with a service role: CloudFormation
  deletes with that role; the caller may need ``iam:PassRole`` on it ("AWS CloudFormation
  service role",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html;
  the CDK CLI deploys with the bootstrap's ``cfn-exec`` role).
"""

from __future__ import annotations

import json
import re

from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.scenarios import Call, Scenario

UNIVERSAL_TARGETS = (
    "https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html"
)
SERVICE_ROLE = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html"
)
#: The role ``cdk bootstrap`` creates for CloudFormation to deploy with (default qualifier).
CDK_EXECUTION_ROLE = (
    "arn:aws:iam::${AWS::AccountId}:role/cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-"
    "${AWS::Region}"
)

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


@derives("AWS::Scheduler::Schedule")
def universal_target(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.get("Target.RoleArn"))
    target = _UNIVERSAL.fullmatch(
        (resource.text(resource.get("Target.Arn")) or "").replace("${AWS::Partition}", "aws")
    )
    if role is None or target is None:
        return []
    service, api_action = target.groups()
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
