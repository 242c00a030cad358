"""Streaming ingest: Firehose Parquet conversion, Kinesis data and video streams.

Notes sections "Kinesis data streams", "Kinesis data firehose" and "Kinesis Video Stream".
"""

from __future__ import annotations

from ml_refarch.aws_facts import (
    FIREHOSE_CONVERSION_MIN_BUFFER_MIB,
    KINESIS_MIN_RETENTION_HOURS,
    VIDEO_STREAM_MAX_RETENTION_HOURS,
)
from ml_refarch.cfn import Unresolved, get, present, truthy
from ml_refarch.compliance.rules.model import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    Resource,
    judge_number,
    judge_present,
    rule,
)

FIREHOSE = "AWS::KinesisFirehose::DeliveryStream"
DATA_STREAM = "AWS::Kinesis::Stream"
VIDEO_STREAM = "AWS::KinesisVideo::Stream"

#: A video stream that keeps media keeps it an hour at least (0 keeps nothing).
MIN_VIDEO_RETENTION_HOURS = 1


def _destination(resource: Resource):
    """The delivery stream's extended S3 destination (``None`` without one)."""
    return resource.get("ExtendedS3DestinationConfiguration")


def _converts(resource: Resource) -> bool:
    """Whether the delivery stream converts records (to Parquet or ORC) on their way to S3."""
    destination = _destination(resource)
    if not isinstance(destination, dict):
        return False
    conversion = get(destination, "DataFormatConversionConfiguration")
    if not isinstance(conversion, dict):
        return False
    # Enabled defaults to true once a conversion configuration is given.
    return truthy(get(conversion, "Enabled", True)) is not False


@rule(
    "FH1",
    types=FIREHOSE,
    applies=_converts,
    info="Firehose converts records to Parquet/ORC with a buffer below 64 MiB.",
    explanation=(
        "Record format conversion needs a buffer of at least 64 MiB, and larger buffers give "
        "fewer, bigger columnar files that query and train faster. Set BufferingHints "
        "SizeInMBs to 64-128."
    ),
    notes="Kinesis data firehose",
)
def firehose_conversion_buffer(resource: Resource):
    destination = _destination(resource)
    size_mib = get(destination, "BufferingHints.SizeInMBs")
    return judge_number(size_mib, minimum=FIREHOSE_CONVERSION_MIN_BUFFER_MIB)


@rule(
    "FH2",
    types=FIREHOSE,
    applies=_converts,
    info="Firehose converts records but has no error-output prefix.",
    explanation=(
        "Records that fail conversion (a wrong type, a missing field) are written under the "
        "error-output prefix; without one they land in an unhelpful default location mixed "
        "with nothing to alert on. Set ErrorOutputPrefix so failures are kept and visible."
    ),
    notes="Kinesis data firehose",
)
def firehose_error_prefix(resource: Resource):
    destination = _destination(resource)
    return judge_present(get(destination, "ErrorOutputPrefix"))


@rule(
    "FH3",
    types=FIREHOSE,
    applies=_converts,
    info="Firehose writes converted records to S3 without a KMS key.",
    explanation=(
        "Converted training data should be encrypted with a customer-managed key on write. "
        "Set the S3 destination's EncryptionConfiguration to a KMSEncryptionConfig."
    ),
    notes="Kinesis data firehose",
)
def firehose_destination_kms(resource: Resource):
    destination = _destination(resource)
    key_arn = get(destination, "EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN")
    return judge_present(key_arn)


@rule(
    "KDS1",
    types=DATA_STREAM,
    info="The Kinesis data stream is not encrypted with KMS.",
    explanation=(
        "Records at rest in the stream may hold raw features or personal data; server-side "
        "encryption with a KMS key (StreamEncryption EncryptionType KMS) protects them."
    ),
    notes="Kinesis data streams",
)
def stream_encrypted(resource: Resource):
    encryption = resource.get("StreamEncryption")
    if isinstance(encryption, Unresolved):
        return NOT_APPLICABLE
    kind = resource.get("StreamEncryption.EncryptionType")
    if isinstance(kind, Unresolved):
        return NOT_APPLICABLE
    if kind == "KMS" and present(resource.get("StreamEncryption.KeyId")):
        return COMPLIANT
    return NON_COMPLIANT


@rule(
    "KDS2",
    types=DATA_STREAM,
    info="The Kinesis data stream keeps records for less than 24 hours.",
    explanation=(
        "24 hours is the minimum retention of a data stream; consumers that fall behind need "
        "at least that long to catch up without losing records."
    ),
    notes="Kinesis data streams",
)
def stream_retention(resource: Resource):
    hours = resource.get("RetentionPeriodHours")
    return judge_number(hours, minimum=KINESIS_MIN_RETENTION_HOURS)


@rule(
    "KV1",
    types=VIDEO_STREAM,
    info="The Kinesis video stream is not encrypted with a customer-managed KMS key.",
    explanation=(
        "Without KmsKeyId, video is encrypted with the AWS-managed aws/kinesisvideo key, "
        "whose policy you cannot restrict. Camera footage usually needs tighter control."
    ),
    notes="Kinesis Video Stream",
)
def video_stream_kms(resource: Resource):
    key = resource.get("KmsKeyId")
    if isinstance(key, str) and key.endswith("alias/aws/kinesisvideo"):
        return NON_COMPLIANT
    return judge_present(key)


@rule(
    "KV2",
    types=VIDEO_STREAM,
    info="The Kinesis video stream's retention is outside 1 hour to 10 years.",
    explanation=(
        "A video stream keeps data only when DataRetentionInHours is set; 0 (the default) "
        "stores nothing for playback or later inference, and 87600 hours (10 years) is the "
        "maximum."
    ),
    notes="Kinesis Video Stream",
)
def video_stream_retention(resource: Resource):
    return judge_number(
        resource.get("DataRetentionInHours"),
        minimum=MIN_VIDEO_RETENTION_HOURS,
        maximum=VIDEO_STREAM_MAX_RETENTION_HOURS,
        when_absent=NON_COMPLIANT,
    )
