"""Pattern ``kinesis-parquet``: its data flows, for the architecture diagram.

Producers put records into the stream; Firehose reads them, converts them to Parquet with
the Glue table's schema (through the CSV transform when there is one) and writes them to
the bucket.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    EXTERNAL_GROUP,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
)

_STREAM = Match("AWS::Kinesis::Stream")
_FIREHOSE = Match("AWS::KinesisFirehose::DeliveryStream")

FLOWS = PatternFlows(
    pseudo=(Pseudo("producers", "Producers", "JSON or CSV records", EXTERNAL_GROUP, _STREAM),),
    flows=(
        KnownFlow("producers", _STREAM, "PutRecords"),
        KnownFlow(_STREAM, _FIREHOSE, "records"),
        KnownFlow(_FIREHOSE, BUCKET, "Parquet"),
        KnownFlow(_FIREHOSE, Match("AWS::Glue::Table"), "schema"),
        KnownFlow(_FIREHOSE, Match("AWS::Lambda::Function"), "transform CSV"),
    ),
)
