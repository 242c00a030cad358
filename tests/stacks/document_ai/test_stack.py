"""document-ai: the bucket's events, the upload rule, the workflow's states, the parser, the
review table and queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_refarch.stacks.document_ai import PATTERN
from ml_refarch.stacks.document_ai.stack import FEATURE_TYPES, INCOMING_PREFIX
from tests.support import only_resource, pattern_template, resources_of_type

STACK = "MlRefArch-DocumentAi"


def _text(part: Any) -> str:
    if "Ref" in part:
        return "${" + part["Ref"] + "}"
    return "${" + ".".join(part["Fn::GetAtt"]) + "}"


def definition(template: dict) -> dict:
    joined = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    _, parts = joined["DefinitionString"]["Fn::Join"]
    return json.loads("".join(p if isinstance(p, str) else _text(p) for p in parts))


@pytest.fixture(scope="module", params=["sandbox", "production"])
def template(request, synthesized) -> dict:
    return synthesized(request.param).templates[STACK]


def _key(template: dict) -> str:
    (key,) = resources_of_type(template, "AWS::KMS::Key")
    return key


def test_the_bucket_sends_its_object_events_to_eventbridge(template):
    buckets = [
        b["Properties"]
        for b in resources_of_type(template, "AWS::S3::Bucket").values()
        if "NotificationConfiguration" in b["Properties"]
    ]
    (bucket,) = buckets
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"] == {
        "EventBridgeEnabled": True
    }
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_uploads_under_incoming_start_the_workflow_with_bucket_and_key(template):
    rule = only_resource(template, "AWS::Events::Rule")["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": INCOMING_PREFIX}]
    (target,) = rule["Targets"]
    assert target["DeadLetterConfig"] and target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    template_text = json.dumps(target["InputTransformer"])
    assert "$.detail.bucket.name" in template_text and "$.detail.object.key" in template_text


def test_the_workflow_starts_forms_and_tables_polls_a_bounded_number_of_times_then_parses(
    template,
):
    states = definition(template)["States"]
    start = states["StartAnalysis"]
    assert start["Resource"].endswith(":states:::aws-sdk:textract:startDocumentAnalysis")
    assert start["Parameters"]["FeatureTypes"] == FEATURE_TYPES == ["FORMS", "TABLES"]
    assert "NotificationChannel" not in start["Parameters"]
    status = states["GetAnalysisStatus"]
    assert status["Parameters"]["MaxResults"] == 1
    choices = states["AnalysisFinished"]["Choices"]
    bounded = [c for c in choices if c.get("Variable") == "$.polls.count"]
    assert bounded and bounded[0]["NumericGreaterThanEquals"] == 120
    assert bounded[0]["Next"] == "NotifyFailure"
    for name in ("StartAnalysis", "GetAnalysisStatus", "ParseResults"):
        assert states[name]["Retry"] and states[name]["Catch"][0]["Next"] == "NotifyFailure"


def test_the_review_table_has_pitr_and_the_stacks_key(template):
    table = only_resource(template, "AWS::DynamoDB::Table")["Properties"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": [_key(template), "Arn"]}


def test_the_review_queue_is_encrypted_and_has_a_dead_letter_queue(template):
    queues = resources_of_type(template, "AWS::SQS::Queue")
    assert len(queues) == 2
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [_key(template), "Arn"]}
    (review,) = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert review["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5


def _parser(template: dict) -> dict:
    (function,) = [
        f["Properties"]
        for f in resources_of_type(template, "AWS::Lambda::Function").values()
        if "CONFIDENCE_THRESHOLD" in json.dumps(f)
    ]
    return function


def test_the_parser_gets_the_threshold_and_may_only_write_results(template):
    function = _parser(template)
    assert function["Environment"]["Variables"]["CONFIDENCE_THRESHOLD"] == "90"
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
        if any(
            s.get("Sid") == "WriteResults" for s in p["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    (statements,) = policies
    (write,) = [s for s in statements if s["Sid"] == "WriteResults"]
    assert write["Resource"]["Fn::Join"][1][-1] == "/results/*"


def test_a_threshold_from_settings_reaches_the_parser():
    variant = pattern_template(PATTERN, **{"document-ai.confidence_threshold": "75"})
    function = _parser(variant)
    assert function["Environment"]["Variables"]["CONFIDENCE_THRESHOLD"] == "75"
