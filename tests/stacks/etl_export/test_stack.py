"""etl-export: the table, the schedule, the workflow's states, the converter and its rights."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_refarch.cost import estimate_stack, load_prices
from ml_refarch.stacks.etl_export.settings import FIELDS
from tests.support import only_resource, resources_of_type

STACK = "MlRefArch-EtlExport"


def _text(part: Any) -> str:
    if "Ref" in part:
        return "${" + part["Ref"] + "}"
    return "${" + ".".join(part["Fn::GetAtt"]) + "}"


def definition(template: dict) -> dict:
    """The state machine's definition, with references as ``${Id}`` / ``${Id.Attr}``."""
    joined = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    _, parts = joined["DefinitionString"]["Fn::Join"]
    return json.loads("".join(p if isinstance(p, str) else _text(p) for p in parts))


def logical_id(template: dict, resource_type: str) -> str:
    (found,) = resources_of_type(template, resource_type)
    return found


@pytest.fixture(scope="module", params=["sandbox", "production"])
def template(request, synthesized) -> dict:
    return synthesized(request.param).templates[STACK]


@pytest.fixture(scope="module")
def sandbox(synthesized) -> dict:
    return synthesized("sandbox").templates[STACK]


def test_the_table_has_pitr_and_the_stacks_key_and_bills_on_demand(template):
    key = logical_id(template, "AWS::KMS::Key")
    table = only_resource(template, "AWS::DynamoDB::Table")["Properties"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_the_sandbox_table_goes_with_the_stack(sandbox, synthesized):
    assert only_resource(sandbox, "AWS::DynamoDB::Table")["DeletionPolicy"] == "Delete"
    production = synthesized("production").templates[STACK]
    table = only_resource(production, "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_a_weekly_schedule_starts_the_state_machine_with_its_own_role(template):
    machine = logical_id(template, "AWS::StepFunctions::StateMachine")
    schedules = resources_of_type(template, "AWS::Scheduler::Schedule")
    (schedule,) = [
        s for s in schedules.values() if s["Properties"]["Target"]["Arn"] == {"Ref": machine}
    ]
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == FIELDS["schedule_expression"].default
    assert properties["ScheduleExpression"] == "rate(7 days)"
    assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}
    role = properties["Target"]["RoleArn"]["Fn::GetAtt"][0]
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert set(trust["Condition"]["StringEquals"]) == {"aws:SourceAccount", "aws:SourceArn"}


def test_the_export_is_an_sdk_call_to_the_bucket_encrypted_with_the_stacks_key(sandbox):
    states = definition(sandbox)["States"]
    start = states["StartExport"]
    assert start["Resource"].endswith(":states:::aws-sdk:dynamodb:exportTableToPointInTime")
    parameters = start["Parameters"]
    key = logical_id(sandbox, "AWS::KMS::Key")
    assert parameters["S3SseAlgorithm"] == "KMS"
    assert parameters["S3SseKmsKeyId"] == "${" + key + ".Arn}"
    assert parameters["ExportFormat"] == "DYNAMODB_JSON"
    assert parameters["S3Prefix"] == "exports"


def test_polling_is_bounded_by_max_polls(sandbox):
    states = definition(sandbox)["States"]
    assert states["WaitForExport"]["Seconds"] == FIELDS["poll_interval_seconds"].default
    assert states["WaitForExport"]["Next"] == "DescribeExport"
    assert states["DescribeExport"]["Next"] == "CountPoll"
    assert "States.MathAdd($.polls.count, 1)" in json.dumps(states["CountPoll"])
    choice = states["ExportFinished"]
    rules = {json.dumps(rule, sort_keys=True): rule["Next"] for rule in choice["Choices"]}
    give_up = [
        rule
        for rule in choice["Choices"]
        if rule.get("NumericGreaterThanEquals") == FIELDS["max_polls"].default
    ]
    assert [rule["Variable"] for rule in give_up] == ["$.polls.count"]
    assert give_up[0]["Next"] == "NotifyFailure"
    assert sorted(rules.values()) == ["ConvertToCsv", "NotifyFailure", "NotifyFailure"]
    assert choice["Default"] == "WaitForExport"


def test_every_task_retries_with_backoff_and_alerts_on_anything_else(sandbox):
    states = definition(sandbox)["States"]
    tasks = {n: s for n, s in states.items() if s["Type"] == "Task" and n != "NotifyFailure"}
    assert set(tasks) == {"StartExport", "DescribeExport", "ConvertToCsv", "ReportMalformedLines"}
    for name, state in tasks.items():
        if name != "ReportMalformedLines":
            (retry,) = state["Retry"]
            assert retry["BackoffRate"] == 2 and retry["MaxAttempts"] >= 2, name
        (catch,) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "NotifyFailure"
    topic = logical_id(sandbox, "AWS::SNS::Topic")
    assert states["NotifyFailure"]["Parameters"]["TopicArn"] == "${" + topic + "}"
    assert states["NotifyFailure"]["Next"] == "Failed"
    assert only_resource(sandbox, "AWS::SNS::Topic")["Properties"]["KmsMasterKeyId"]


def test_malformed_lines_are_reported_to_the_topic(sandbox):
    states = definition(sandbox)["States"]
    (rule,) = states["AnyMalformedLines"]["Choices"]
    assert rule == {
        "Variable": "$.conversion.malformedLines",
        "NumericGreaterThan": 0,
        "Next": "ReportMalformedLines",
    }
    assert states["ReportMalformedLines"]["Resource"].endswith(":states:::sns:publish")
    assert "malformedLines.$" in states["ConvertToCsv"]["ResultSelector"]


def test_the_execution_history_is_logged_in_full(template):
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is True
    assert machine["TracingConfiguration"]["Enabled"] is True


def test_the_converter_writes_csv_only_under_the_training_prefix(sandbox):
    function = resources_of_type(sandbox, "AWS::Lambda::Function")
    (converter,) = [f for f in function.values() if "OUTPUT_PREFIX" in json.dumps(f)]
    variables = converter["Properties"]["Environment"]["Variables"]
    assert variables == {
        "OUTPUT_PREFIX": "training/",
        "REPORT_PREFIX": "reports/",
        "KEY_ATTRIBUTES": "customer_id",
    }
    role = converter["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in resources_of_type(sandbox, "AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    writes = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:PutObject"
    ]
    (write,) = writes
    suffixes = sorted(r["Fn::Join"][1][1] for r in write["Resource"])
    assert suffixes == ["/reports/*", "/training/*"]


def test_idle_cost_is_the_key_and_the_rest_bills_by_use(sandbox):
    cost = estimate_stack(sandbox, load_prices(), STACK)
    assert {line.item for line in cost.lines} == {"1 KMS key"}
    usage = " ".join(cost.usage_based)
    assert "DynamoDB request units" in usage and "point-in-time recovery" in usage
    assert "Step Functions state transitions" in usage
