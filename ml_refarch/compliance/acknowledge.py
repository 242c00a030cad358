"""Acknowledging rule findings on one construct, with a reason that says why it is safe.

cdk-nag 3.x uses CDK's own ``Validations.of(construct).acknowledge``. Each finding of a
multi-finding rule (``AwsSolutions-IAM5[Action::s3:GetObject*]``) is acknowledged on its own.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(construct: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge ``rule_ids`` on ``construct`` (and its children) for ``reason``.

    Raises:
        ValueError: when no rule id or no real reason is given; an acknowledgment without a
            reason is a silenced finding, not an accepted one.
    """
    if not rule_ids:
        raise ValueError("acknowledge() needs at least one rule id")
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledgment of {rule_ids} needs a specific reason, got {reason!r}")
    validations = cdk.Validations.of(construct)
    for rule_id in rule_ids:
        validations.acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
