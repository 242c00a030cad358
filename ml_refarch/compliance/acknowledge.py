"""Acknowledging rule findings on one construct, with a reason that says why it is safe.

cdk-nag 3.x uses CDK's own ``Validations.of(construct).acknowledge``. Each finding of a
multi-finding rule (``AwsSolutions-IAM5[Action::s3:GetObject*]``) is acknowledged on its own.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(
    construct: IConstruct, reason: str, *rule_ids: str, checkov: tuple[str, ...] = ()
) -> None:
    """Acknowledge ``rule_ids`` on ``construct``'s own resource for ``reason``.

    ``checkov`` lists checkov check ids skipped for the same reason; they are written into
    the CloudFormation metadata of the construct's resource, where checkov reads them.

    Raises:
        ValueError: when no rule id or no real reason is given; an acknowledgment without a
            reason is a silenced finding, not an accepted one.
    """
    if not rule_ids and not checkov:
        raise ValueError("acknowledge() needs at least one rule id")
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledgment of {rule_ids} needs a specific reason, got {reason!r}")
    # The narrowest construct: an L2's own CloudFormation resource, not its children too
    # (a bucket's acknowledgment must not cover its bucket policy).
    default_child = construct.node.default_child
    target = default_child if isinstance(default_child, cdk.CfnResource) else construct
    validations = cdk.Validations.of(target)
    for rule_id in rule_ids:
        validations.acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
    if checkov:
        skip_checkov(construct, reason, *checkov)


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
