"""Pattern ``ml-workflow``: its data flows, for the architecture diagram.

The state machine starts training and tuning jobs on the bucket's data, makes a model of
the result, an endpoint config and an endpoint, and alerts the topic on failure. These
SageMaker resources are made at run time, so they are pseudo-nodes, each present when the
state machine's definition calls the API that makes it.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    RUNS_AS,
    SAGEMAKER_GROUP,
    SAGEMAKER_ROLE,
    STATE_MACHINE,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
)


def _made_by_the_workflow(key: str, label: str, detail: str, api_call: str) -> Pseudo:
    return Pseudo(key, label, detail, SAGEMAKER_GROUP, STATE_MACHINE, api_call)


FLOWS = PatternFlows(
    pseudo=(
        _made_by_the_workflow(
            "training-job", "Training job", "SageMaker, spot", r"sagemaker:createTrainingJob"
        ),
        _made_by_the_workflow(
            "tuning-job",
            "Tuning job",
            "SageMaker, hyperparameters",
            r"sagemaker:createHyperParameterTuningJob",
        ),
        _made_by_the_workflow("model", "Model", "SageMaker", r"sagemaker:createModel"),
        _made_by_the_workflow(
            "endpoint-config", "Endpoint config", "SageMaker", r"sagemaker:createEndpointConfig"
        ),
        _made_by_the_workflow(
            "endpoint",
            "Endpoint",
            "SageMaker, real-time",
            r"sagemaker:(create|update)Endpoint(?!Config)",
        ),
    ),
    flows=(
        KnownFlow(STATE_MACHINE, "training-job", "trains"),
        KnownFlow(STATE_MACHINE, "tuning-job", "tunes"),
        KnownFlow(BUCKET, "training-job", "training data"),
        KnownFlow(BUCKET, "tuning-job", "training data"),
        KnownFlow("training-job", "model", "artifacts"),
        KnownFlow("tuning-job", "model", "best job"),
        KnownFlow("model", "endpoint-config", "variant"),
        KnownFlow("endpoint-config", "endpoint", "deploys"),
        KnownFlow(STATE_MACHINE, Match("AWS::SNS::Topic"), "failure alerts"),
        KnownFlow("training-job", SAGEMAKER_ROLE, "runs as", kind=RUNS_AS),
    ),
)
