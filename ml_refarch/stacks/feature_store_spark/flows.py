"""Pattern ``feature-store-spark``: its data flows, for the architecture diagram.

The state machine starts the Spark job on the EMR Serverless application; the job reads the
lake prefix of the bucket and puts records into the feature group, which copies them to its
Iceberg offline store in the bucket; Athena exports the offline store as CSV, which the
training job (a pseudo-node: the state machine starts it at run time) reads.
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

_APPLICATION = Match("AWS::EMRServerless::Application")
_FEATURE_GROUP = Match("AWS::SageMaker::FeatureGroup")
_WORKGROUP = Match("AWS::Athena::WorkGroup")

FLOWS = PatternFlows(
    pseudo=(
        Pseudo("lake", "Data lake", "orders/ and customers/ CSV", EXTERNAL_GROUP, _APPLICATION),
        Pseudo(
            "training",
            "Training job",
            "built-in XGBoost, reads training/<run>/",
            SAGEMAKER_GROUP,
            STATE_MACHINE,
            r"sagemaker:createTrainingJob",
        ),
    ),
    flows=(
        KnownFlow("lake", BUCKET, "lake/ prefix"),
        KnownFlow(STATE_MACHINE, _APPLICATION, "StartJobRun (.sync)"),
        KnownFlow(_APPLICATION, BUCKET, "PySpark reads lake/", by_design=True),
        KnownFlow(_APPLICATION, _FEATURE_GROUP, "PutRecord", by_design=True),
        KnownFlow(_FEATURE_GROUP, BUCKET, "Iceberg offline store"),
        KnownFlow(STATE_MACHINE, _WORKGROUP, "UNLOAD current records"),
        KnownFlow(_WORKGROUP, BUCKET, "CSV under training/"),
        KnownFlow(STATE_MACHINE, "training", "CreateTrainingJob (.sync)"),
        KnownFlow(BUCKET, "training", "CSV"),
        KnownFlow(STATE_MACHINE, Match("AWS::SNS::Topic"), "failures"),
    ),
)
