"""Acknowledging rule findings on one construct, with a reason that says why it is safe.

cdk-nag 3.x uses CDK's own ``Validations.of(construct).acknowledge``. Each finding of a
multi-finding rule (``AwsSolutions-IAM5[Action::s3:GetObject*]``) is acknowledged on its own.
A control several packs check is acknowledged once, through its family in
``ml_refarch.compliance.controls``, which writes each pack's rule id. A Control Tower rule
(``ControlTower-<guard rule name>``) is also listed in the resource's
``Metadata.guard.SuppressedRules``, where the Control Tower pack (and ``check``) reads it.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct, IConstruct

from ml_refarch.compliance import control_tower, controls
from ml_refarch.compliance.controls import Control

#: The packs' Lambda rules that ask for what a handler CloudFormation calls synchronously
#: while it deploys needs nothing of (reserved concurrency, a DLQ, a VPC, tracing), and
#: checkov's checks of the same.
DEPLOY_TIME_HANDLER_RULES: tuple[str | Control, ...] = (
    controls.LAMBDA_CONCURRENCY,
    controls.LAMBDA_DLQ,
    controls.LAMBDA_INSIDE_VPC,
    "Serverless-LambdaTracing",
)
DEPLOY_TIME_HANDLER_CHECKOV = ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117")


def acknowledge(
    construct: IConstruct, reason: str, *rules: str | Control, checkov: tuple[str, ...] = ()
) -> None:
    """Acknowledge ``rules`` on ``construct``'s own resource for ``reason``.

    ``rules`` are rule ids and control families (``controls.S3_VERSIONING``); a family
    acknowledges each pack's rule id for its control. ``checkov`` lists checkov check ids
    skipped for the same reason; they are written into the CloudFormation metadata of the
    construct's resource, where checkov reads them.

    Raises:
        ValueError: when no rule id or no real reason is given; an acknowledgment without a
            reason is a silenced finding, not an accepted one. Also when a rule id is given
            twice, directly or through a family, or names no bundled Control Tower rule.
    """
    if not rules and not checkov:
        raise ValueError("acknowledge() needs at least one rule id")
    rule_ids = controls.expand(*rules)
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledgment of {rule_ids} needs a specific reason, got {reason!r}")
    # The narrowest construct: an L2's own CloudFormation resource, not its children too
    # (a bucket's acknowledgment must not cover its bucket policy).
    default_child = construct.node.default_child
    target = default_child if isinstance(default_child, cdk.CfnResource) else construct
    validations = cdk.Validations.of(target)
    for rule_id in rule_ids:
        for found_as in dict.fromkeys((rule_id, in_environment(target, rule_id))):
            validations.acknowledge(cdk.Acknowledgment(id=found_as, reason=reason))
    guard_rules = [
        control_tower.rule_of(rule_id).name
        for rule_id in rule_ids
        if rule_id.startswith(f"{control_tower.RULE_PREFIX}-")
    ]
    if guard_rules:
        suppress_guard_rules(construct, *guard_rules)
    if checkov:
        skip_checkov(construct, reason, *checkov)


#: How cdk-nag writes the pseudo parameters of an environment-agnostic stack in a finding's
#: detail (``AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:...]``).
_PSEUDO_PARAMETERS = (("partition", "Partition"), ("region", "Region"), ("account", "AccountId"))


def in_environment(construct: IConstruct, rule_id: str) -> str:
    """``rule_id`` as cdk-nag reports it in ``construct``'s stack when its ARN is built from
    the stack's environment: in a stack pinned to an account and region (``-c
    account/region``, a delivery stage) CDK writes the values themselves where an
    environment-agnostic stack has ``<AWS::Region>`` and the rest. ARNs built from the
    pseudo parameters themselves keep them, so :func:`acknowledge` acknowledges both."""
    stack = cdk.Stack.of(construct)
    for attribute, name in _PSEUDO_PARAMETERS:
        value = getattr(stack, attribute)
        if not cdk.Token.is_unresolved(value):
            rule_id = rule_id.replace(f"<AWS::{name}>", value)
    return rule_id


def skip_checkov(construct: IConstruct, reason: str, *check_ids: str) -> None:
    """Record checkov skips in the resource metadata of ``construct``.

    ``construct`` is an L1 resource or an L2 construct whose default child is one.
    """
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    metadata = resource.get_metadata("checkov") or {}
    skips = list(metadata.get("skip", []))
    known = {skip["id"] for skip in skips}
    skips += [{"id": check, "comment": reason} for check in check_ids if check not in known]
    resource.add_metadata("checkov", {"skip": skips})


def suppress_guard_rules(construct: IConstruct, *rule_names: str) -> None:
    """List cfn-guard rules in ``Metadata.guard.SuppressedRules`` of ``construct``'s resource
    (the cfn-guard rule sets' convention for a resource that is exempt from a rule)."""
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    metadata = resource.get_metadata(control_tower.METADATA_KEY) or {}
    listed = list(metadata.get(control_tower.SUPPRESSED_KEY, []))
    listed += [name for name in rule_names if name not in listed]
    resource.add_metadata(control_tower.METADATA_KEY, {control_tower.SUPPRESSED_KEY: listed})


def acknowledge_cdk_provider(
    scope: IConstruct, provider_id: str, *, purpose: str, calls: str
) -> None:
    """Acknowledge the findings on one of CDK's own custom-resource providers, once per stack.

    CDK adds a stack-wide Lambda handler and role for features such as auto-deleting bucket
    objects or restricting a VPC's default security group. Inside the app they are plain
    ``CfnResource`` objects that the packs skip; checking the synthesized template finds
    them. ``purpose`` and ``calls`` complete the reason: what the handler does and which API
    it calls.
    """
    provider = cdk.Stack.of(scope).node.try_find_child(provider_id)
    if provider is None or provider.node.try_find_child("Acknowledged") is not None:
        return
    Construct(provider, "Acknowledged")  # one provider serves the whole stack
    reason = (
        f"CDK's own custom-resource handler that {purpose}: it runs only during deployment "
        f"or deletion, is invoked synchronously by CloudFormation and calls only {calls}, so "
        "a VPC, DLQ, reserved concurrency or tracing would add nothing."
    )
    handler = provider.node.try_find_child("Handler")
    if isinstance(handler, cdk.CfnResource):
        acknowledge(
            handler, reason, *DEPLOY_TIME_HANDLER_RULES, checkov=DEPLOY_TIME_HANDLER_CHECKOV
        )
    role = provider.node.try_find_child("Role")
    if isinstance(role, cdk.CfnResource):
        rules: list[str | Control] = [
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]"
        ]
        if (cdk.Stack.of(role).resolve(role._cfn_properties) or {}).get("Policies"):
            rules.append(controls.IAM_NO_INLINE_POLICY)
        acknowledge(
            role,
            f"The role of CDK's handler that {purpose} uses AWSLambdaBasicExecutionRole only "
            "to write the handler's own logs, and CDK writes its other, narrowly scoped "
            "permissions inline.",
            *rules,
        )
