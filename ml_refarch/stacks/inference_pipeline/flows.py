"""Pattern ``inference-pipeline``: its data flows, for the architecture diagram.

Clients call the endpoint's serial chain of containers; in batch, an object under
``input/`` starts the state machine through an EventBridge rule, and the state machine runs
a transform job over the same chain that writes predictions under ``output/``.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    SAGEMAKER_ENDPOINT,
    SAGEMAKER_GROUP,
    SAGEMAKER_MODEL,
    STATE_MACHINE,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
    endpoint_clients,
)

_RULE = Match("AWS::Events::Rule")

FLOWS = PatternFlows(
    pseudo=(
        endpoint_clients("raw CSV records, SigV4"),
        Pseudo(
            "transform-job",
            "Batch transform job",
            "filter id, join input, keep id,label,score",
            SAGEMAKER_GROUP,
            STATE_MACHINE,
            r"sagemaker:createTransformJob",
        ),
    ),
    flows=(
        KnownFlow("clients", SAGEMAKER_ENDPOINT, "InvokeEndpoint"),
        KnownFlow(BUCKET, _RULE, "Object Created under input/"),
        KnownFlow(_RULE, STATE_MACHINE, "StartExecution"),
        KnownFlow(STATE_MACHINE, "transform-job", "runs (.sync)"),
        KnownFlow(BUCKET, "transform-job", "input/ records"),
        KnownFlow("transform-job", BUCKET, "output/ predictions (KMS)"),
        KnownFlow("transform-job", SAGEMAKER_MODEL, "serial chain of 3"),
        KnownFlow(STATE_MACHINE, Match("AWS::SNS::Topic"), "failure alerts"),
    ),
)
