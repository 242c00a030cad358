"""Pattern ``etl-export``: its data flows, for the architecture diagram.

Scheduler starts the state machine; the state machine asks DynamoDB for a point-in-time
export, which DynamoDB writes to the bucket; the converter reads the export and writes the
CSV that SageMaker training reads; failures and malformed lines go to the topic.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    EXTERNAL_GROUP,
    SAGEMAKER_GROUP,
    STATE_MACHINE,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
)

_TABLE = Match("AWS::DynamoDB::Table")
_FUNCTION = Match("AWS::Lambda::Function")
_SCHEDULE = Match("AWS::Scheduler::Schedule")

FLOWS = PatternFlows(
    pseudo=(
        Pseudo("writers", "Applications", "PutItem", EXTERNAL_GROUP, _TABLE),
        Pseudo(
            "training",
            "Training job",
            "SageMaker, reads training/ CSV",
            SAGEMAKER_GROUP,
            STATE_MACHINE,
            r"dynamodb:exportTableToPointInTime",
        ),
    ),
    flows=(
        KnownFlow("writers", _TABLE, "items"),
        KnownFlow(_SCHEDULE, STATE_MACHINE, "starts weekly"),
        KnownFlow(STATE_MACHINE, _TABLE, "ExportTableToPointInTime"),
        KnownFlow(_TABLE, BUCKET, "DynamoDB JSON export", by_design=True),
        KnownFlow(STATE_MACHINE, _FUNCTION, "converts"),
        KnownFlow(_FUNCTION, BUCKET, "CSV with header", by_design=True),
        KnownFlow(BUCKET, "training", "CSV"),
        KnownFlow(STATE_MACHINE, Match("AWS::SNS::Topic"), "failures, malformed lines"),
    ),
)
