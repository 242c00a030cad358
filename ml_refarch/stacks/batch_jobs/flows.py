"""Pattern ``batch-jobs``: its data flows, for the architecture diagram.

The schedule and the state machine submit jobs to the queues; each queue places its jobs
on its compute environment; jobs pull their image from the cache repository, which the
pull through cache fills from ECR Public, and write their results to the bucket.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    EXTERNAL_GROUP,
    STATE_MACHINE,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
)

_SCHEDULE = Match("AWS::Scheduler::Schedule")
_QUEUE = Match("AWS::Batch::JobQueue")
_ENVIRONMENT = Match("AWS::Batch::ComputeEnvironment")
_REPOSITORY = Match("AWS::ECR::Repository")
_CACHE_RULE = Match("AWS::ECR::PullThroughCacheRule")

FLOWS = PatternFlows(
    pseudo=(Pseudo("ecr-public", "ECR Public", "upstream registry", EXTERNAL_GROUP, _CACHE_RULE),),
    flows=(
        KnownFlow(_SCHEDULE, _QUEUE, "SubmitJob"),
        KnownFlow(STATE_MACHINE, _QUEUE, "submitJob.sync"),
        KnownFlow(_QUEUE, _ENVIRONMENT, "places jobs"),
        KnownFlow("ecr-public", _REPOSITORY, "pull through cache"),
        KnownFlow(_REPOSITORY, _ENVIRONMENT, "image", by_design=True),
        KnownFlow(_ENVIRONMENT, BUCKET, "results", by_design=True),
        KnownFlow(STATE_MACHINE, Match("AWS::SNS::Topic"), "failure alerts"),
    ),
)
