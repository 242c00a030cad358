"""A one-time EventBridge Scheduler schedule that deletes the stack it belongs to.

Sandbox stacks carry one (:class:`ml_refarch.stacks.base.PatternStack` adds it), so a
forgotten sandbox stops billing. The pieces and the AWS pages behind them:

- **Schedule.** ``at(...)`` in UTC, flexible time window off, so Scheduler calls the target
  within the minute ("Schedule types in EventBridge Scheduler"). The target is the universal
  target ``arn:<partition>:scheduler:::aws-sdk:cloudformation:deleteStack`` with the request
  ``{"StackName": <this stack's id>}`` as ``Input`` ("Using universal targets in EventBridge
  Scheduler"). No fixed name: CloudFormation names the schedule and its group, so changing
  the time is an in-place update (``Name`` is the only create-only property).
- **Schedule group.** The stack's own, so the role's trust policy can name it:
  ``aws:SourceArn`` must be a schedule group's ARN, never a schedule's ("Confused deputy
  prevention in EventBridge Scheduler"), and a group of its own admits only this schedule.
- **Role.** Trusted only by ``scheduler.amazonaws.com`` for this account and group; allowed
  ``cloudformation:DeleteStack`` on this stack (``AWS::StackId``) and nothing else, plus
  ``iam:PassRole`` of the stack's CloudFormation execution role when the stack has one.
  CloudFormation deletes the resources with the service role associated with the stack, not
  with the caller's permissions: "When you specify a service role, CloudFormation always uses
  that role for all operations that are performed on that stack" ("AWS CloudFormation service
  role", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html).
  Versions of that page differ on whether a caller needs ``iam:PassRole`` to use the
  associated role ("regardless of whether those users have the iam:PassRole permission" in
  one, "but they must have the iam:PassRole permission" in another), so the role may pass
  exactly that one role, to CloudFormation only. ``cdk deploy`` always associates the
  bootstrap's ``cfn-exec`` role (CDK's default synthesizer); a stack deployed without a
  service role would be deleted with this role's own permissions and fail.
"""

from __future__ import annotations

from datetime import datetime

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from ml_refarch.aws_facts import (
    SCHEDULER_AT_FORMAT,
    SCHEDULER_SERVICE_PRINCIPAL,
    delete_stack_target_arn,
)
from ml_refarch.constructs.service_role import service_role

#: The time zone of the ``at()`` expression, written out although it is Scheduler's default.
TIME_ZONE = "UTC"


def at_expression(expires_at: datetime) -> str:
    """``at(2026-01-02T09:30:00)``: the one-time expression of a UTC time."""
    return expires_at.strftime(SCHEDULER_AT_FORMAT)


class StackExpiry(Construct):
    """Deletes the enclosing stack at ``expires_at`` (a timezone-aware UTC time).

    Attributes:
        schedule: the one-time schedule; group: its schedule group; role: its execution role.
        expires_at_text: ``expires_at`` as ISO 8601 (``2026-01-02T09:30:00Z``), for an output.
    """

    def __init__(self, scope: Construct, construct_id: str, *, expires_at: datetime) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.expires_at_text = expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.group = scheduler.CfnScheduleGroup(self, "Group")
        self.role, _ = service_role(
            self,
            "Delete",
            service=SCHEDULER_SERVICE_PRINCIPAL,
            description=f"EventBridge Scheduler deletes {stack.stack_name} when it expires",
            statements=self._statements(stack),
            conditions={
                "StringEquals": {
                    "aws:SourceAccount": stack.account,
                    "aws:SourceArn": self.group.attr_arn,
                }
            },
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description=f"Deletes the sandbox stack {stack.stack_name} at {self.expires_at_text}",
            group_name=self.group.ref,
            schedule_expression=at_expression(expires_at),
            schedule_expression_timezone=TIME_ZONE,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=delete_stack_target_arn(stack.partition),
                role_arn=self.role.role_arn,
                input=stack.to_json_string({"StackName": stack.stack_id}),
            ),
        )

    @staticmethod
    def _statements(stack: cdk.Stack) -> list[iam.PolicyStatement]:
        statements = [
            iam.PolicyStatement(actions=["cloudformation:DeleteStack"], resources=[stack.stack_id])
        ]
        execution_role = _execution_role_arn(stack)
        if execution_role is not None:
            statements.append(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[execution_role],
                    conditions={
                        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
                    },
                )
            )
        return statements


def _execution_role_arn(stack: cdk.Stack) -> str | None:
    """The CloudFormation execution role ``cdk deploy`` associates with the stack (the
    default synthesizer's bootstrap role), or ``None`` for other synthesizers."""
    synthesizer = stack.synthesizer
    if not isinstance(synthesizer, cdk.DefaultStackSynthesizer):
        return None
    if synthesizer.bootstrap_qualifier is None:
        # A synthesizer handed to the stack (the local target's) is bound to it only at
        # synth, and cannot say its role before; it uses the default role and qualifier.
        arn = cdk.DefaultStackSynthesizer.DEFAULT_CLOUDFORMATION_ROLE_ARN.replace(
            "${Qualifier}", cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER
        )
    else:
        arn = synthesizer.cloud_formation_execution_role_arn
    # ${AWS::AccountId}-style placeholders remain for an environment-agnostic stack.
    return cdk.Fn.sub(arn)
