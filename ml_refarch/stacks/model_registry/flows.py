"""Pattern ``model-registry``: its data flows, for the architecture diagram.

The registered version belongs to the group; approving it raises an EventBridge event
whose rule notifies the topic and starts the state machine; the state machine starts an
Inference Recommender job on the version, which benchmarks it on endpoints it creates and
deletes, and saves the job's result to the bucket. The job is made at run time, so it is a
pseudo-node, present when the definition calls the API that makes it.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    EXTERNAL_GROUP,
    RUNS_AS,
    SAGEMAKER_GROUP,
    SAGEMAKER_ROLE,
    STATE_MACHINE,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
)

_GROUP = Match("AWS::SageMaker::ModelPackageGroup")
_VERSION = Match("AWS::SageMaker::ModelPackage")
_RULE = Match("AWS::Events::Rule")
_TOPIC = Match("AWS::SNS::Topic")

FLOWS = PatternFlows(
    pseudo=(
        Pseudo("approver", "Reviewer", "UpdateModelPackage: Approved", EXTERNAL_GROUP, _VERSION),
        Pseudo(
            "recommender-job",
            "Inference Recommender job",
            "SageMaker, benchmark endpoints",
            SAGEMAKER_GROUP,
            STATE_MACHINE,
            r"sagemaker:createInferenceRecommendationsJob",
        ),
    ),
    flows=(
        KnownFlow(_VERSION, _GROUP, "version of"),
        KnownFlow("approver", _VERSION, "approves"),
        KnownFlow(_VERSION, _RULE, "state change event", by_design=True),
        KnownFlow(_RULE, _TOPIC, "approved"),
        KnownFlow(_RULE, STATE_MACHINE, "benchmark it"),
        KnownFlow(STATE_MACHINE, "recommender-job", "Create/Describe job"),
        KnownFlow("recommender-job", _VERSION, "model, payload"),
        KnownFlow(STATE_MACHINE, BUCKET, "results JSON"),
        KnownFlow(STATE_MACHINE, _TOPIC, "failure alerts"),
        KnownFlow("recommender-job", SAGEMAKER_ROLE, "runs as", kind=RUNS_AS),
    ),
)
