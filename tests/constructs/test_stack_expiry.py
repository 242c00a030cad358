"""Sandbox expiry: every sandbox stack deletes itself at the configured time, production
stacks never do, and the schedule's role can delete this stack and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import aws_cdk as cdk
import pytest

from ml_refarch.app import add_pattern_stacks, project_context
from ml_refarch.catalog import PATTERNS
from ml_refarch.cfn import resources_of_type
from ml_refarch.config import read_config
from ml_refarch.constructs.stack_expiry import StackExpiry, at_expression
from ml_refarch.diagram.template import ParsedTemplate
from ml_refarch.permissions.policy import explain, substitute
from ml_refarch.smoke.outputs import PatternOutputs
from tests.support import AWS_VARIANT_STACKS, PINNED_TTL_FROM, ROOT, VARIANTS, only_resource

SCHEDULE = "AWS::Scheduler::Schedule"
GROUP = "AWS::Scheduler::ScheduleGroup"
#: The pinned start plus the default 24 hours.
EXPECTED_EXPRESSION = "at(2026-01-02T09:00:00)"

SANDBOX_STACKS = [
    (variant, stack)
    for variant, stack in AWS_VARIANT_STACKS
    if VARIANTS[variant].context.get("profile", "sandbox") == "sandbox"
]
PRODUCTION_STACKS = [(v, s) for v, s in AWS_VARIANT_STACKS if v == "production"]
#: The smallest stack (no VPC), for the tests that synthesize a configuration of their own.
SMALL_STACK = next(p.stack_name for p in PATTERNS if p.id == "serverless-inference")

STACK_ID = "arn:aws:cloudformation:us-east-1:111122223333:stack/MlRefArch-Mine/1a2b3c4d"
OTHER_STACK_ID = "arn:aws:cloudformation:us-east-1:111122223333:stack/Other/5e6f7a8b"
EXEC_ROLE = "arn:aws:iam::111122223333:role/cdk-hnb659fds-cfn-exec-role-111122223333-us-east-1"


def expiry_schedules(template: dict) -> list[str]:
    """The schedules that delete the stack (a stack may have schedules of its own too)."""
    return [
        logical_id
        for logical_id, schedule in resources_of_type(template, SCHEDULE).items()
        if "aws-sdk:cloudformation:deleteStack" in json.dumps(schedule["Properties"]["Target"])
    ]


def expiry_parts(template: dict) -> dict[str, tuple[str, dict]]:
    """The schedule, its group, role and policy: kind -> (logical id, resource)."""
    resources = template["Resources"]
    (schedule_id,) = expiry_schedules(template)
    schedule = resources[schedule_id]
    role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    group_id = schedule["Properties"]["GroupName"]["Ref"]
    (policy_id,) = [
        logical_id
        for logical_id, resource in resources_of_type(template, "AWS::IAM::ManagedPolicy").items()
        if {"Ref": role_id} in resource["Properties"].get("Roles", [])
    ]
    return {
        "schedule": (schedule_id, schedule),
        "group": (group_id, resources[group_id]),
        "role": (role_id, resources[role_id]),
        "policy": (policy_id, resources[policy_id]),
    }


def small_template(**context) -> dict:
    """The small stack's template for ``context`` on top of cdk.json's."""
    app = cdk.App(context=project_context(**context))
    add_pattern_stacks(app, read_config(app.node.get_all_context()), only=[SMALL_STACK])
    return app.synth().get_stack_by_name(SMALL_STACK).template


@pytest.mark.parametrize(("variant", "stack"), SANDBOX_STACKS)
def test_every_sandbox_stack_deletes_itself_at_the_pinned_time(synthesized, variant, stack):
    template = synthesized(variant).templates[stack]
    _, schedule = expiry_parts(template)["schedule"]
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == EXPECTED_EXPRESSION
    assert properties["ScheduleExpressionTimezone"] == "UTC"
    assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert "Name" not in properties, "a generated name keeps time changes in-place updates"
    target = properties["Target"]
    assert substitute(target["Arn"], {}) == (
        "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack"
    )
    assert json.loads(substitute(target["Input"], {"AWS::StackId": STACK_ID})) == {
        "StackName": STACK_ID
    }
    assert template["Outputs"][PatternOutputs.EXPIRES_AT]["Value"] == "2026-01-02T09:00:00Z"


@pytest.mark.parametrize(("variant", "stack"), PRODUCTION_STACKS)
def test_no_production_stack_expires(synthesized, variant, stack):
    template = synthesized(variant).templates[stack]
    assert not expiry_schedules(template)
    # A pattern's own schedules may use a group of their own (or the default group); the
    # stack has no group that no schedule uses, i.e. none left from expiry.
    groups_in_use = {
        schedule["Properties"]["GroupName"]["Ref"]
        for schedule in resources_of_type(template, SCHEDULE).values()
        if "GroupName" in schedule["Properties"]
    }
    assert set(resources_of_type(template, GROUP)) == groups_in_use
    assert PatternOutputs.EXPIRES_AT not in template.get("Outputs", {})


def test_a_ttl_of_zero_removes_the_schedule_and_another_moves_it():
    off = small_template(sandbox_ttl_hours="0", sandbox_ttl_from=PINNED_TTL_FROM)
    assert not resources_of_type(off, SCHEDULE) and not resources_of_type(off, GROUP)
    roles = resources_of_type(off, "AWS::IAM::Role").values()
    assert all("scheduler.amazonaws.com" not in json.dumps(role) for role in roles)
    assert PatternOutputs.EXPIRES_AT not in off["Outputs"]

    later = small_template(sandbox_ttl_hours="30", sandbox_ttl_from="2026-03-31T20:15Z")
    assert only_resource(later, SCHEDULE)["Properties"]["ScheduleExpression"] == (
        "at(2026-04-02T02:15:00)"
    )
    assert later["Outputs"][PatternOutputs.EXPIRES_AT]["Value"] == "2026-04-02T02:15:00Z"


def test_without_a_pinned_start_the_clock_of_the_synth_counts():
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    expires_at = read_config({"sandbox_ttl_hours": "2"}).profile.expires_at
    after = datetime.now(UTC)
    assert expires_at is not None and expires_at.second == 0
    assert before.timestamp() + 7200 <= expires_at.timestamp() <= after.timestamp() + 7200


def test_the_role_may_delete_only_this_stack_and_pass_only_the_execution_role(synthesized):
    template = synthesized("sandbox").templates[SMALL_STACK]
    _, policy = expiry_parts(template)["policy"]
    document = substitute(policy["Properties"]["PolicyDocument"], {"AWS::StackId": STACK_ID})
    to_cloudformation = {"iam:PassedToService": "cloudformation.amazonaws.com"}
    allowed = [
        ("cloudformation:DeleteStack", STACK_ID, {}),
        ("iam:PassRole", EXEC_ROLE, to_cloudformation),
    ]
    denied = [
        ("cloudformation:DeleteStack", OTHER_STACK_ID, {}),
        ("cloudformation:UpdateStack", STACK_ID, {}),
        ("cloudformation:CreateStack", STACK_ID, {}),
        ("s3:DeleteBucket", "arn:aws:s3:::any-bucket", {}),
        ("iam:PassRole", EXEC_ROLE, {"iam:PassedToService": "lambda.amazonaws.com"}),
        ("iam:PassRole", "arn:aws:iam::111122223333:role/Admin", to_cloudformation),
    ]
    for action, resource, context in allowed:
        assert explain(document, action, resource, context).decision == "Allow", action
    for action, resource, context in denied:
        verdict = explain(document, action, resource, context)
        assert verdict.decision == "ImplicitDeny", f"{action} {resource}: {verdict}"


def test_only_scheduler_for_this_account_and_group_may_assume_the_role(synthesized):
    parts = expiry_parts(synthesized("sandbox").templates[SMALL_STACK])
    group_id, _ = parts["group"]
    _, role = parts["role"]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"},
            "aws:SourceArn": {"Fn::GetAtt": [group_id, "Arn"]},
        }
    }


def test_other_synthesizers_get_no_pass_role():
    app = cdk.App()
    stack = cdk.Stack(app, "Legacy", synthesizer=cdk.LegacyStackSynthesizer())
    StackExpiry(stack, "Expiry", expires_at=datetime(2026, 1, 2, 9, 0, tzinfo=UTC))
    template = app.synth().get_stack_by_name("Legacy").template
    _, policy = expiry_parts(template)["policy"]
    actions = [s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert actions == ["cloudformation:DeleteStack"]


def test_the_at_expression_is_utc_to_the_minute():
    assert at_expression(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == "at(2026-12-31T23:59:00)"


def test_the_diagram_leaves_out_the_expiry_but_keeps_other_schedules(synthesized):
    template = synthesized("sandbox").templates[SMALL_STACK]
    parts = expiry_parts(template)
    parsed = ParsedTemplate.read(template)
    for kind in ("schedule", "group", "role"):
        assert parts[kind][0] in parsed.skipped, kind

    schedule_id, schedule = parts["schedule"]
    other = json.loads(json.dumps(template))
    other["Resources"][schedule_id]["Properties"]["Target"]["Arn"] = "arn:aws:sqs:x:1:queue"
    assert schedule_id not in ParsedTemplate.read(other).skipped
    assert schedule["Properties"]["Target"]["Arn"] != "arn:aws:sqs:x:1:queue"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"sandbox_ttl_hours": "twelve"}, "sandbox_ttl_hours: received 'twelve'"),
        ({"sandbox_ttl_from": "2026-13-01T00:00"}, "sandbox_ttl_from: received '2026-13-01"),
    ],
)
def test_a_bad_ttl_stops_the_app_with_one_clear_error(tmp_path, context, message):
    env = dict(os.environ, CDK_OUTDIR=str(tmp_path), CDK_CONTEXT_JSON=json.dumps(context))
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert message in result.stderr and "-c sandbox_" in result.stderr
    assert "Traceback" not in result.stderr and "jsii" not in result.stderr


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda pattern: pattern.id)
def test_each_pattern_page_says_when_its_stack_expires_and_how_to_extend_it(pattern):
    page = (ROOT / pattern.docs_page).read_text()
    assert "### Sandbox expiry" in page
    assert f"--stack-name {pattern.stack_name}" in page and "OutputKey=='ExpiresAt'" in page
    assert f"npx cdk deploy {pattern.stack_name} -c sandbox_ttl_hours=" in page
