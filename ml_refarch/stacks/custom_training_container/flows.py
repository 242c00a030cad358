"""Pattern ``custom-training-container``: its data flows, for the architecture diagram.

The state machine starts the CodeBuild build, which pulls the base image through the pull
through cache of ECR Public, installs packages from CodeArtifact and pushes the training
image to its repository; then it starts the training job, which runs that image as the
SageMaker role and reads the bucket in the configured input mode.
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

_PROJECT = Match("AWS::CodeBuild::Project")
_REPOSITORY = Match("AWS::ECR::Repository")
_CACHE_RULE = Match("AWS::ECR::PullThroughCacheRule")
_PACKAGES = Match("AWS::CodeArtifact::Repository")

FLOWS = PatternFlows(
    pseudo=(
        Pseudo("ecr-public", "ECR Public", "upstream registry", EXTERNAL_GROUP, _CACHE_RULE),
        Pseudo(
            "training-job",
            "Training job",
            "SageMaker, custom image",
            SAGEMAKER_GROUP,
            STATE_MACHINE,
        ),
    ),
    flows=(
        KnownFlow(STATE_MACHINE, _PROJECT, "startBuild.sync"),
        KnownFlow("ecr-public", _CACHE_RULE, "base image"),
        KnownFlow(_PACKAGES, _PROJECT, "pip packages", by_design=True),
        KnownFlow(_PROJECT, _REPOSITORY, "docker push"),
        KnownFlow(STATE_MACHINE, "training-job", "createTrainingJob.sync"),
        KnownFlow(_REPOSITORY, "training-job", "image"),
        KnownFlow(BUCKET, "training-job", "File / FastFile / Pipe"),
        KnownFlow("training-job", SAGEMAKER_ROLE, "runs as", kind=RUNS_AS),
        KnownFlow(STATE_MACHINE, Match("AWS::SNS::Topic"), "failure alerts"),
    ),
)
