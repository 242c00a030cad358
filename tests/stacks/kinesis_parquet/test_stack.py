"""kinesis-parquet: the properties the notes call for, asserted on the synthesized templates."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from ml_refarch.catalog import by_id
from ml_refarch.config import PROFILES, read_config
from ml_refarch.stacks.kinesis_parquet import PATTERN
from ml_refarch.stacks.kinesis_parquet.outputs import Outputs
from tests.support import only_resource, project_context, resources_of_type

STACK = "MlRefArch-KinesisParquet"


@pytest.fixture(scope="module")
def sandbox(synthesized):
    return synthesized("sandbox").templates[STACK]


@pytest.fixture(scope="module")
def production(synthesized):
    return synthesized("production").templates[STACK]


@pytest.fixture(scope="module")
def csv(synthesized):
    return synthesized("sandbox-csv").templates[STACK]


def firehose_destination(template: dict) -> dict:
    stream = only_resource(template, "AWS::KinesisFirehose::DeliveryStream")
    return stream["Properties"]["ExtendedS3DestinationConfiguration"]


def key_ref(template: dict) -> dict:
    (key_id,) = resources_of_type(template, "AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def small_stack(**context) -> Template:
    """Just this stack, for settings the shared variants do not cover."""
    app = cdk.App(context=project_context(**context))
    config = read_config(app.node.get_all_context())
    pattern = by_id("kinesis-parquet")
    stack = pattern.stack_type(
        app,
        pattern.stack_name,
        profile=config.profile,
        settings=config.settings_for(PATTERN),
        title=pattern.title,
        notes_section=pattern.notes_section,
    )
    return Template.from_stack(stack)


def test_stream_is_encrypted_with_the_stacks_rotating_customer_managed_key(sandbox):
    key = only_resource(sandbox, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    stream = only_resource(sandbox, "AWS::Kinesis::Stream")["Properties"]
    assert stream["StreamEncryption"]["EncryptionType"] == "KMS"
    (key_id,) = resources_of_type(sandbox, "AWS::KMS::Key")
    assert stream["StreamEncryption"]["KeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_default_stream_keeps_the_24_hour_minimum_with_one_provisioned_shard(sandbox):
    stream = only_resource(sandbox, "AWS::Kinesis::Stream")["Properties"]
    assert stream["RetentionPeriodHours"] == 24
    assert stream["ShardCount"] == 1
    assert stream["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}


def test_shards_are_sized_from_the_write_rate_as_the_notes_compute():
    template = small_stack(
        **{"kinesis-parquet.records_per_second": 1000, "kinesis-parquet.record_size_kib": 8}
    )
    template.has_resource_properties(
        "AWS::Kinesis::Stream", {"ShardCount": 8, "RetentionPeriodHours": 24}
    )


def test_on_demand_mode_sets_no_shard_count_and_retention_follows_config():
    template = small_stack(
        **{"kinesis-parquet.stream_mode": "on-demand", "kinesis-parquet.retention_hours": 168}
    )
    template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
            "ShardCount": Match.absent(),
            "RetentionPeriodHours": 168,
        },
    )


def test_firehose_reads_the_stream_and_converts_json_to_parquet_with_the_glue_schema(sandbox):
    delivery = only_resource(sandbox, "AWS::KinesisFirehose::DeliveryStream")["Properties"]
    assert delivery["DeliveryStreamType"] == "KinesisStreamAsSource"
    (stream_id,) = resources_of_type(sandbox, "AWS::Kinesis::Stream")
    assert delivery["KinesisStreamSourceConfiguration"]["KinesisStreamARN"] == {
        "Fn::GetAtt": [stream_id, "Arn"]
    }
    conversion = firehose_destination(sandbox)["DataFormatConversionConfiguration"]
    assert conversion["Enabled"] is True
    assert "OpenXJsonSerDe" in conversion["InputFormatConfiguration"]["Deserializer"]
    assert conversion["OutputFormatConfiguration"]["Serializer"] == {
        "ParquetSerDe": {"Compression": "SNAPPY"}
    }
    schema = conversion["SchemaConfiguration"]
    table = only_resource(sandbox, "AWS::Glue::Table")["Properties"]
    assert schema["DatabaseName"] == table["DatabaseName"]
    assert schema["TableName"] == table["TableInput"]["Name"]
    assert schema["VersionId"] == "LATEST"


def test_buffering_meets_parquet_conversion_limits(sandbox):
    hints = firehose_destination(sandbox)["BufferingHints"]
    assert 64 <= hints["SizeInMBs"] <= 128
    assert hints["IntervalInSeconds"] <= 900


def test_buffering_follows_config():
    template = small_stack(
        **{
            "kinesis-parquet.buffer_interval_seconds": 900,
            "kinesis-parquet.buffer_size_mib": 64,
        }
    )
    template.has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {"BufferingHints": {"IntervalInSeconds": 900, "SizeInMBs": 64}}
            )
        },
    )


def test_objects_are_date_partitioned_and_failures_land_under_an_error_prefix(sandbox):
    destination = firehose_destination(sandbox)
    assert destination["Prefix"] == (
        "data/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
        "hour=!{timestamp:HH}/"
    )
    assert destination["ErrorOutputPrefix"].startswith("errors/!{firehose:error-output-type}/")


def test_destination_is_kms_encrypted_and_delivery_errors_are_logged(sandbox):
    destination = firehose_destination(sandbox)
    assert destination["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"] == (
        key_ref(sandbox)
    )
    logging = destination["CloudWatchLoggingOptions"]
    assert logging["Enabled"] is True
    groups = resources_of_type(sandbox, "AWS::Logs::LogGroup")
    assert logging["LogGroupName"] == {"Ref": next(iter(groups))}
    log_stream = only_resource(sandbox, "AWS::Logs::LogStream")["Properties"]
    assert log_stream["LogStreamName"] == logging["LogStreamName"]


def test_every_log_group_is_encrypted_with_bounded_retention(all_variants):
    for variant in all_variants.values():
        if STACK not in variant.templates:
            continue
        template = variant.templates[STACK]
        expected_days = 365 if variant.name.startswith("cdk.out.production") else 7
        for group in resources_of_type(template, "AWS::Logs::LogGroup").values():
            assert group["Properties"]["KmsKeyId"] == key_ref(template)
            assert group["Properties"]["RetentionInDays"] == expected_days


def test_glue_table_columns_follow_config_and_point_at_the_data_prefix(sandbox):
    table = only_resource(sandbox, "AWS::Glue::Table")["Properties"]["TableInput"]
    descriptor = table["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == [
        (c.name, c.type) for c in read_config({}).settings_for(PATTERN).columns
    ]
    assert "ParquetHiveSerDe" in descriptor["SerdeInfo"]["SerializationLibrary"]
    assert [p["Name"] for p in table["PartitionKeys"]] == ["year", "month", "day", "hour"]
    assert table["Parameters"]["projection.enabled"] == "true"
    location = json.dumps(descriptor["Location"])
    assert "data/" in location


def test_custom_columns_reach_the_table_and_the_outputs():
    template = small_stack(**{"kinesis-parquet.columns": "id:string,score:double"})
    template.has_resource_properties(
        "AWS::Glue::Table",
        {
            "TableInput": Match.object_like(
                {
                    "StorageDescriptor": Match.object_like(
                        {
                            "Columns": [
                                {"Name": "id", "Type": "string"},
                                {"Name": "score", "Type": "double"},
                            ]
                        }
                    )
                }
            )
        },
    )
    outputs = template.to_json()["Outputs"]
    assert json.loads(outputs[Outputs.COLUMNS_JSON]["Value"]) == [
        {"name": "id", "type": "string"},
        {"name": "score", "type": "double"},
    ]


def test_bucket_is_kms_encrypted_private_and_tls_only(sandbox):
    buckets = resources_of_type(sandbox, "AWS::S3::Bucket")
    assert len(buckets) == 1
    (bucket_id, bucket) = next(iter(buckets.items()))
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": key_ref(sandbox),
    }
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    policy = only_resource(sandbox, "AWS::S3::BucketPolicy")["Properties"]
    assert policy["Bucket"] == {"Ref": bucket_id}
    deny_plain_http = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert deny_plain_http


def test_sandbox_data_is_destroyed_and_production_data_is_retained(sandbox, production):
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"):
        for resource in resources_of_type(sandbox, resource_type).values():
            assert resource["DeletionPolicy"] == "Delete", resource_type
        for resource in resources_of_type(production, resource_type).values():
            assert resource["DeletionPolicy"] == "Retain", resource_type
    assert resources_of_type(sandbox, "Custom::S3AutoDeleteObjects")
    assert not resources_of_type(production, "Custom::S3AutoDeleteObjects")


def test_production_versions_the_data_and_logs_access(production):
    buckets = resources_of_type(production, "AWS::S3::Bucket")
    data = [b for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert len(data) == 1
    assert data[0]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    log_bucket_id = data[0]["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert log_bucket_id in buckets


def test_production_turns_on_termination_protection(synthesized):
    assert synthesized("production").stacks[STACK].termination_protection is True
    assert synthesized("sandbox").stacks[STACK].termination_protection is False
    assert PROFILES["production"].termination_protection


def test_firehose_role_is_least_privilege(sandbox):
    roles = resources_of_type(sandbox, "AWS::IAM::Role")
    (role_id,) = [logical_id for logical_id in roles if logical_id.startswith("Deliv")]
    (statement,) = roles[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}
    assert not resources_of_type(sandbox, "AWS::IAM::Policy"), "no inline policies"
    (policy,) = [
        p["Properties"]
        for p in resources_of_type(sandbox, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    actions = [a for s in policy["PolicyDocument"]["Statement"] for a in _as_list(s["Action"])]
    assert not [a for a in actions if "*" in a], "no wildcard actions"
    assert all(s.get("Resource") != "*" for s in policy["PolicyDocument"]["Statement"])
    assert {"kinesis:GetRecords", "s3:PutObject", "glue:GetTableVersions"} <= set(actions)
    assert not [a for a in actions if a.startswith("lambda:")]


def test_outputs_give_a_smoke_script_everything_it_needs(sandbox):
    outputs = sandbox["Outputs"]
    assert set(outputs) >= {
        "StreamName",
        "DeliveryStreamName",
        "BucketName",
        "DataPrefix",
        "ErrorPrefix",
        "GlueDatabaseName",
        "GlueTableName",
        "InputFormat",
        "ColumnsJson",
    }
    assert outputs[Outputs.INPUT_FORMAT]["Value"] == "json"
    assert outputs[Outputs.DATA_PREFIX]["Value"] == "data/"


def test_stack_description_names_the_pattern_and_notes_section(sandbox):
    assert "kinesis-parquet" in sandbox["Description"]
    assert "Kinesis data firehose" in sandbox["Description"]


def test_json_input_has_no_transform(sandbox):
    assert not resources_of_type(sandbox, "AWS::Lambda::Function") or all(
        "CustomS3AutoDeleteObjects" in logical_id
        for logical_id in resources_of_type(sandbox, "AWS::Lambda::Function")
    )
    assert "ProcessingConfiguration" not in firehose_destination(sandbox)


def test_csv_input_adds_the_transform_lambda_before_conversion(csv):
    functions = {
        logical_id: f
        for logical_id, f in resources_of_type(csv, "AWS::Lambda::Function").items()
        if "CustomS3AutoDeleteObjects" not in logical_id
    }
    assert len(functions) == 1
    (function_id, function) = next(iter(functions.items()))
    properties = function["Properties"]
    assert properties["Handler"] == "handler.handler"
    assert properties["Runtime"].startswith("python3.")
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["KmsKeyArn"] == key_ref(csv)
    columns = json.loads(properties["Environment"]["Variables"]["COLUMNS_JSON"])
    default_columns = read_config({}).settings_for(PATTERN).columns
    assert [c["name"] for c in columns] == [c.name for c in default_columns]
    processing = firehose_destination(csv)["ProcessingConfiguration"]
    assert processing["Enabled"] is True
    (processor,) = processing["Processors"]
    assert processor["Type"] == "Lambda"
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert parameters["LambdaArn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert csv["Outputs"][Outputs.INPUT_FORMAT]["Value"] == "csv"
    # Firehose may invoke exactly this function and nothing else.
    policies = resources_of_type(csv, "AWS::IAM::ManagedPolicy").values()
    lambda_statements = [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if any(a.startswith("lambda:") for a in _as_list(s["Action"]))
    ]
    assert len(lambda_statements) == 1
    assert lambda_statements[0]["Resource"] == {"Fn::GetAtt": [function_id, "Arn"]}


def _as_list(value):
    return value if isinstance(value, list) else [value]
