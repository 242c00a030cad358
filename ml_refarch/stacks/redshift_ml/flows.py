"""Pattern ``redshift-ml``: its data flows, for the architecture diagram.

Producers put records into the stream; the workgroup's streaming view reads them as the
Redshift role; analysts (and the smoke check) run SQL through the Data API; CREATE MODEL
unloads training rows to the bucket and SageMaker trains from it as the same role.
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
_WORKGROUP = Match("AWS::RedshiftServerless::Workgroup")

FLOWS = PatternFlows(
    pseudo=(
        Pseudo("producers", "Producers", "JSON records", EXTERNAL_GROUP, _STREAM),
        Pseudo("analysts", "Analysts", "SQL through the Data API", EXTERNAL_GROUP, _WORKGROUP),
    ),
    flows=(
        KnownFlow("producers", _STREAM, "PutRecords"),
        # Only the SQL links these: no template reference records them.
        KnownFlow(_STREAM, _WORKGROUP, "streaming ingestion", by_design=True),
        KnownFlow("analysts", _WORKGROUP, "ExecuteStatement"),
        KnownFlow(_WORKGROUP, BUCKET, "CREATE MODEL training data", by_design=True),
    ),
)
