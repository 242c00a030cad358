"""EventBridge rules and CloudWatch alarms: what they deliver to, and with whose permission.

- A rule's target with ``RoleArn``: EventBridge calls the target as that role; for a Step
  Functions state machine that is ``states:StartExecution`` on it ("Amazon EventBridge
  permissions",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
- A target without a role (a Lambda function, an SNS topic, an SQS queue) and a
  dead-letter queue: the target's resource policy must allow ``events.amazonaws.com``
  ("Using resource-based policies for Amazon EventBridge",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html;
  "Using dead-letter queues to process undelivered events",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
- An alarm action to a topic with a topic policy: the policy must let
  ``cloudwatch.amazonaws.com`` publish ("Using Amazon SNS notifications" for alarms,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html).
- A topic or queue encrypted with a customer managed key: the key policy must let the
  publishing service use ``kms:GenerateDataKey*`` and ``kms:Decrypt`` ("Enable
  compatibility between event sources from AWS services and encrypted topics",
  https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services;
  for queues, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
"""

from __future__ import annotations

from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.scenarios import Call, Scenario
from ml_refarch.permissions.values import ACCOUNT

EB_ROLE = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html"
EB_RESOURCE = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html"
EB_DLQ = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html"
ALARM_SNS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html"
)
SNS_KMS = (
    "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
    "#compatibility-with-aws-services"
)
SQS_KMS = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
    "sqs-key-management.html"
)

_KEY_PROPERTY = {"AWS::SNS::Topic": "KmsMasterKeyId", "AWS::SQS::Queue": "KmsMasterKeyId"}
_SEND = {
    "AWS::SNS::Topic": ("sns:Publish", "${%s}"),
    "AWS::SQS::Queue": ("sqs:SendMessage", "${%s.Arn}"),
    "AWS::Lambda::Function": ("lambda:InvokeFunction", "${%s.Arn}"),
}


def _target(resource: Resource, value: Any) -> tuple[str, str] | None:
    """(logical id, type) of the template's resource ``value`` names."""
    for kind in (*_SEND, "AWS::StepFunctions::StateMachine"):
        found = resource.resource_of(value, kind)
        if found:
            return found, kind
    return None


def _has_policy(resource: Resource, logical_id: str, kind: str) -> bool:
    """Whether a resource policy of the template governs the topic, queue or function."""
    policy_type, prop = {
        "AWS::SNS::Topic": ("AWS::SNS::TopicPolicy", "Topics"),
        "AWS::SQS::Queue": ("AWS::SQS::QueuePolicy", "Queues"),
        "AWS::Lambda::Function": ("AWS::Lambda::Permission", "FunctionName"),
    }[kind]
    for policy in resource.of_type(policy_type).values():
        if logical_id in cfn.referenced_ids(cfn.properties_of(policy).get(prop)):
            return True
    return False


def service_delivery(
    resource: Resource, service: str, target: str, kind: str, doc: str, source_arn: str
) -> list[Scenario]:
    """``service`` sends to the topic, queue or function ``target`` (and uses its key)."""
    context = {"aws:SourceArn": source_arn, "aws:SourceAccount": ACCOUNT}
    scenarios = []
    if _has_policy(resource, target, kind) or kind == "AWS::Lambda::Function":
        action, text = _SEND[kind]
        scenarios.append(
            resource.scenario(
                f"{service} delivers to {target}",
                f"service:{service}",
                doc,
                [Call(action, text % target, context)],
                on_behalf_of=resource.logical_id,
            )
        )
    key_property = _KEY_PROPERTY.get(kind)
    properties = cfn.properties_of(cfn.resources(resource.template)[target])
    key = (
        resource.resource_of(properties.get(key_property), "AWS::KMS::Key")
        if key_property
        else None
    )
    if key:
        scenarios.append(
            resource.scenario(
                f"{service} uses the key of {target}",
                f"service:{service}",
                SNS_KMS if kind == "AWS::SNS::Topic" else SQS_KMS,
                [
                    Call("kms:GenerateDataKey", "${" + key + ".Arn}", context),
                    Call("kms:Decrypt", "${" + key + ".Arn}", context),
                ],
                on_behalf_of=resource.logical_id,
            )
        )
    return scenarios


@derives("AWS::Events::Rule")
def rule_targets(resource: Resource) -> list[Scenario]:
    scenarios: list[Scenario] = []
    rule_arn = "${" + resource.logical_id + ".Arn}"
    for index, target in enumerate(cfn.as_list(resource.properties.get("Targets"))):
        found = _target(resource, cfn.raw(cfn.get(target, "Arn")))
        role = resource.role_of(cfn.raw(cfn.get(target, "RoleArn")))
        if found and role and found[1] == "AWS::StepFunctions::StateMachine":
            scenarios.append(
                resource.scenario(
                    f"target {index} starts {found[0]}",
                    role,
                    EB_ROLE,
                    [Call("states:StartExecution", "${" + found[0] + "}")],
                    on_behalf_of="EventBridge, for the rule",
                )
            )
        elif found and not role and found[1] in _SEND:
            scenarios += service_delivery(
                resource, "events.amazonaws.com", found[0], found[1], EB_RESOURCE, rule_arn
            )
        dead_letter = resource.resource_of(
            cfn.raw(cfn.get(target, "DeadLetterConfig.Arn")), "AWS::SQS::Queue"
        )
        if dead_letter:
            scenarios += service_delivery(
                resource, "events.amazonaws.com", dead_letter, "AWS::SQS::Queue", EB_DLQ, rule_arn
            )
    return scenarios


@derives("AWS::CloudWatch::Alarm")
def alarm_actions(resource: Resource) -> list[Scenario]:
    scenarios: list[Scenario] = []
    alarm_arn = "${" + resource.logical_id + ".Arn}"
    seen: set[str] = set()
    for prop in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        for action in cfn.as_list(resource.properties.get(prop)):
            topic = resource.resource_of(cfn.raw(action), "AWS::SNS::Topic")
            if topic and topic not in seen:
                seen.add(topic)
                scenarios += service_delivery(
                    resource,
                    "cloudwatch.amazonaws.com",
                    topic,
                    "AWS::SNS::Topic",
                    ALARM_SNS,
                    alarm_arn,
                )
    return scenarios
