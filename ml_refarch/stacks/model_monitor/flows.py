"""Pattern ``model-monitor``: its data flows, for the architecture diagram.

Both engines: the endpoint captures requests and responses into the bucket.

``processing-job`` (the default, the one the diagram draws): the schedule starts the
monitoring processing job, which reads the captures, the ground truth and the baseline and
writes its report to the bucket; its state change starts the publisher, which puts the
metrics the alarms watch and alerts the topic when a run fails.

``model-monitor`` (not drawn: the diagram shows the default engine, and every pseudo-node
declared here must be drawn): on its schedule the data-quality job compares captures with the
baseline, writes reports, and publishes the drift metrics the alarm watches.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    EXTERNAL_GROUP,
    SAGEMAKER_ENDPOINT,
    SAGEMAKER_GROUP,
    STATE_MACHINE,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
    endpoint_clients,
)

_JOB_DEFINITION = Match("AWS::SageMaker::DataQualityJobDefinition")
_SCHEDULE = Match("AWS::Scheduler::Schedule")
_ALARM = Match("AWS::CloudWatch::Alarm")

FLOWS = PatternFlows(
    pseudo=(
        endpoint_clients("InvokeEndpoint"),
        Pseudo(
            "monitoring-job",
            "Monitoring job",
            "processing job: drift, quality, bias",
            SAGEMAKER_GROUP,
            _SCHEDULE,
            r"createProcessingJob",
        ),
        Pseudo(
            "labellers",
            "Ground truth",
            "labels by inference id",
            EXTERNAL_GROUP,
            _SCHEDULE,
            r"createProcessingJob",
        ),
    ),
    flows=(
        KnownFlow("clients", SAGEMAKER_ENDPOINT, "InvokeEndpoint"),
        KnownFlow(Match("AWS::SageMaker::EndpointConfig"), BUCKET, "data capture (KMS)"),
        # processing-job
        KnownFlow(_SCHEDULE, "monitoring-job", "CreateProcessingJob on the cron schedule"),
        KnownFlow("labellers", BUCKET, "ground truth JSON Lines"),
        KnownFlow(BUCKET, "monitoring-job", "captures, ground truth; report out"),
        KnownFlow("monitoring-job", Match("AWS::Events::Rule"), "job state change"),
        KnownFlow(Match("AWS::Events::Rule"), STATE_MACHINE, "starts the publisher"),
        KnownFlow(STATE_MACHINE, BUCKET, "reads metrics.json"),
        KnownFlow(STATE_MACHINE, _ALARM, "PutMetricData", by_design=True),
        # model-monitor
        KnownFlow(
            Match("AWS::SageMaker::MonitoringSchedule"),
            _JOB_DEFINITION,
            "runs on the cron schedule",
            by_design=True,
        ),
        KnownFlow(BUCKET, _JOB_DEFINITION, "captures and baseline in, reports out"),
        KnownFlow(_JOB_DEFINITION, _ALARM, "feature_baseline_drift metrics", by_design=True),
    ),
)
