"""Pattern ``fsx-training``: its data flows, for the architecture diagram.

The bucket fills the Lustre file system through a data repository association; the
training job the pattern is built for mounts the file system and runs as the SageMaker role.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    RUNS_AS,
    SAGEMAKER_GROUP,
    SAGEMAKER_ROLE,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
)

_FILE_SYSTEM = Match("AWS::FSx::FileSystem")

FLOWS = PatternFlows(
    pseudo=(
        Pseudo(
            "training-job", "Training job", "SageMaker, File mode", SAGEMAKER_GROUP, _FILE_SYSTEM
        ),
    ),
    flows=(
        KnownFlow(BUCKET, _FILE_SYSTEM, "data repository association"),
        KnownFlow(_FILE_SYSTEM, "training-job", "Lustre mount"),
        KnownFlow("training-job", SAGEMAKER_ROLE, "runs as", kind=RUNS_AS),
    ),
)
