"""MLS-FH*, MLS-KDS*, MLS-KV*: Firehose conversion, data streams, video streams."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kinesisvideo as kinesisvideo
from aws_cdk import aws_kms as kms

from tests.compliance.rules.support import mls_findings

F = firehose.CfnDeliveryStream
ROLE = "arn:aws:iam::123456789012:role/firehose"


def delivery_stream(stack: cdk.Stack, *, conversion: bool = True, **overrides) -> None:
    """A converting delivery stream that passes every FH rule; ``None`` removes a setting."""
    key = kms.Key(stack, "Key")
    settings = dict(
        bucket_arn="arn:aws:s3:::training-data",
        role_arn=ROLE,
        error_output_prefix="errors/!{firehose:error-output-type}/",
        buffering_hints=F.BufferingHintsProperty(interval_in_seconds=300, size_in_m_bs=128),
        encryption_configuration=F.EncryptionConfigurationProperty(
            kms_encryption_config=F.KMSEncryptionConfigProperty(awskms_key_arn=key.key_arn)
        ),
        data_format_conversion_configuration=(
            F.DataFormatConversionConfigurationProperty(
                enabled=True,
                input_format_configuration=F.InputFormatConfigurationProperty(
                    deserializer=F.DeserializerProperty(
                        open_x_json_ser_de=F.OpenXJsonSerDeProperty()
                    )
                ),
                output_format_configuration=F.OutputFormatConfigurationProperty(
                    serializer=F.SerializerProperty(parquet_ser_de=F.ParquetSerDeProperty())
                ),
                schema_configuration=F.SchemaConfigurationProperty(
                    database_name="db", table_name="t", role_arn=ROLE
                ),
            )
            if conversion
            else None
        ),
    )
    settings.update(overrides)
    F(
        stack,
        "Delivery",
        extended_s3_destination_configuration=F.ExtendedS3DestinationConfigurationProperty(
            **{k: v for k, v in settings.items() if v is not None}
        ),
    )


def test_compliant_delivery_stream_passes():
    assert mls_findings(delivery_stream) == []


@pytest.mark.parametrize(
    ("overrides", "rule_id"),
    [
        ({"buffering_hints": F.BufferingHintsProperty(size_in_m_bs=32)}, "MLS-FH1"),
        ({"error_output_prefix": None}, "MLS-FH2"),
        ({"encryption_configuration": None}, "MLS-FH3"),
        (
            {
                "encryption_configuration": F.EncryptionConfigurationProperty(
                    no_encryption_config="NoEncryption"
                )
            },
            "MLS-FH3",
        ),
    ],
)
def test_each_unsafe_firehose_setting_raises_its_rule(overrides, rule_id):
    assert mls_findings(lambda stack: delivery_stream(stack, **overrides)) == [rule_id]


def test_default_buffer_with_conversion_is_compliant():
    assert mls_findings(lambda stack: delivery_stream(stack, buffering_hints=None)) == []


def test_firehose_without_conversion_is_not_applicable():
    findings = mls_findings(
        lambda stack: delivery_stream(
            stack,
            conversion=False,
            error_output_prefix=None,
            encryption_configuration=None,
            buffering_hints=F.BufferingHintsProperty(size_in_m_bs=5),
        )
    )
    assert findings == []


def test_disabled_conversion_is_not_applicable():
    def build(stack):
        delivery_stream(stack, error_output_prefix=None)
        stack.node.find_child("Delivery").add_property_override(
            "ExtendedS3DestinationConfiguration.DataFormatConversionConfiguration.Enabled", False
        )

    # Property overrides are invisible to cdk-nag rules (they see the construct's props);
    # the pack documents this, and the conversion stays enabled in what the rules read.
    assert mls_findings(build) == ["MLS-FH2"]


def test_token_buffer_size_does_not_crash():
    def build(stack):
        size = cdk.CfnParameter(stack, "Size", type="Number", default=128)
        delivery_stream(
            stack, buffering_hints=F.BufferingHintsProperty(size_in_m_bs=size.value_as_number)
        )

    assert mls_findings(build) == []


def stream(stack: cdk.Stack, **overrides) -> None:
    properties = dict(
        shard_count=1,
        retention_period_hours=24,
        stream_encryption=kinesis.CfnStream.StreamEncryptionProperty(
            encryption_type="KMS", key_id=kms.Key(stack, "StreamKey").key_arn
        ),
    )
    properties.update(overrides)
    kinesis.CfnStream(stack, "Stream", **{k: v for k, v in properties.items() if v is not None})


def test_compliant_stream_passes():
    assert mls_findings(stream) == []
    assert mls_findings(lambda stack: stream(stack, retention_period_hours=None)) == []


@pytest.mark.parametrize(
    ("overrides", "rule_id"),
    [
        ({"stream_encryption": None}, "MLS-KDS1"),
        ({"retention_period_hours": 12}, "MLS-KDS2"),
    ],
)
def test_each_unsafe_stream_setting_raises_its_rule(overrides, rule_id):
    assert mls_findings(lambda stack: stream(stack, **overrides)) == [rule_id]


def test_l2_stream_with_a_customer_key_passes_and_default_encryption_is_not_judged():
    def build(stack):
        kinesis.Stream(
            stack,
            "Cmk",
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=kms.Key(stack, "K"),
        )
        # The L2 default renders a region condition (Fn::If): known only at deploy time.
        kinesis.Stream(stack, "Default")

    assert mls_findings(build) == []


def video(stack: cdk.Stack, **overrides) -> None:
    properties = dict(data_retention_in_hours=24, kms_key_id=kms.Key(stack, "VideoKey").key_arn)
    properties.update(overrides)
    kinesisvideo.CfnStream(stack, "Video", **{k: v for k, v in properties.items() if v is not None})


@pytest.mark.parametrize("hours", [1, 24, 87600])
def test_compliant_video_stream_passes(hours):
    assert mls_findings(lambda stack: video(stack, data_retention_in_hours=hours)) == []


@pytest.mark.parametrize(
    ("overrides", "rule_id"),
    [
        ({"kms_key_id": None}, "MLS-KV1"),
        ({"kms_key_id": "alias/aws/kinesisvideo"}, "MLS-KV1"),
        ({"data_retention_in_hours": None}, "MLS-KV2"),
        ({"data_retention_in_hours": 0}, "MLS-KV2"),
        ({"data_retention_in_hours": 87601}, "MLS-KV2"),
    ],
)
def test_each_unsafe_video_setting_raises_its_rule(overrides, rule_id):
    assert mls_findings(lambda stack: video(stack, **overrides)) == [rule_id]
