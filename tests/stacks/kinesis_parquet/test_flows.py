"""kinesis-parquet: the diagram shows records flowing from the stream to Parquet in S3."""

from __future__ import annotations

import copy

import pytest

from ml_refarch import diagram
from ml_refarch.catalog import by_id
from ml_refarch.diagram.model import FLOW
from tests.flows_support import edges_of, node_of_type
from tests.support import resources_of_type

PATTERN = by_id("kinesis-parquet")


@pytest.fixture(scope="module")
def sandbox(synthesized):
    return synthesized("sandbox").templates[PATTERN.stack_name]


def test_kinesis_parquet_flows_from_stream_through_firehose_to_bucket_and_table(sandbox):
    fingerprint = diagram.diagram_fingerprint(PATTERN.id, sandbox)
    edges = edges_of(fingerprint)
    stream = node_of_type(fingerprint, "AWS::Kinesis::Stream")
    firehose = node_of_type(fingerprint, "AWS::KinesisFirehose::DeliveryStream")
    bucket = node_of_type(fingerprint, "AWS::S3::Bucket")
    table = node_of_type(fingerprint, "AWS::Glue::Table")
    key = node_of_type(fingerprint, "AWS::KMS::Key")
    role = node_of_type(fingerprint, "AWS::IAM::Role")
    for pair in ((stream, firehose), (firehose, bucket), (firehose, table)):
        assert edges[pair]["kind"] == FLOW, pair
    assert edges[(key, stream)]["label"] == "encrypts"
    assert edges[(firehose, role)]["label"] == "runs as"
    labels = {n["id"]: n["label"] for n in fingerprint["nodes"]}
    assert labels[stream] == "Stream" and stream != "Stream", "CDK hash suffix stripped"
    assert labels[firehose] == "DeliveryStream"


def test_kinesis_parquet_csv_transform_is_a_flow_from_firehose(sandbox):
    # The CSV variant's transform, added by hand: Firehose names the function's ARN.
    template = copy.deepcopy(sandbox)
    template["Resources"]["CsvToJson3F1A63FD"] = {"Type": "AWS::Lambda::Function"}
    (firehose_id,) = resources_of_type(template, "AWS::KinesisFirehose::DeliveryStream")
    destination = template["Resources"][firehose_id]["Properties"][
        "ExtendedS3DestinationConfiguration"
    ]
    destination["ProcessingConfiguration"] = {
        "Processors": [
            {"Parameters": [{"ParameterValue": {"Fn::GetAtt": ["CsvToJson3F1A63FD", "Arn"]}}]}
        ]
    }
    edges = edges_of(diagram.diagram_fingerprint(PATTERN.id, template))
    assert edges[(firehose_id, "CsvToJson3F1A63FD")]["kind"] == FLOW
