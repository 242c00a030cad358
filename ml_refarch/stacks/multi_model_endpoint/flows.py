"""Pattern ``multi-model-endpoint``: its data flows, for the architecture diagram.

Clients name the model in each request; the committed model archives are copied into the
bucket at deploy time, and the endpoint loads the one a request names from there.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    EXTERNAL_GROUP,
    SAGEMAKER_ENDPOINT,
    SAGEMAKER_MODEL,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
    endpoint_clients,
)

FLOWS = PatternFlows(
    pseudo=(
        endpoint_clients("InvokeEndpoint + TargetModel"),
        Pseudo(
            "committed-artifacts",
            "Committed artifacts",
            "churn-v1/v2.tar.gz, copied at deploy",
            EXTERNAL_GROUP,
            # CDK's BucketDeployment: its handler is left out, its CLI layer is not.
            Match("AWS::Lambda::LayerVersion"),
        ),
    ),
    flows=(
        KnownFlow("clients", SAGEMAKER_ENDPOINT, "InvokeEndpoint (TargetModel)"),
        KnownFlow("committed-artifacts", BUCKET, "models/ prefix"),
        KnownFlow(BUCKET, SAGEMAKER_MODEL, "loads models/<TargetModel>"),
    ),
)
