"""Pattern ``serverless-inference``: its data flows, for the architecture diagram.

Clients call the serverless endpoint; its model artifact is loaded on a cold start.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    EXTERNAL_GROUP,
    SAGEMAKER_ENDPOINT,
    SAGEMAKER_MODEL,
    KnownFlow,
    PatternFlows,
    Pseudo,
    endpoint_clients,
)

FLOWS = PatternFlows(
    pseudo=(
        endpoint_clients("InvokeEndpoint"),
        Pseudo(
            "artifact", "Model artifact", "model.tar.gz, CDK asset", EXTERNAL_GROUP, SAGEMAKER_MODEL
        ),
    ),
    flows=(
        KnownFlow("clients", SAGEMAKER_ENDPOINT, "InvokeEndpoint"),
        KnownFlow("artifact", SAGEMAKER_MODEL, "loaded on a cold start"),
    ),
)
