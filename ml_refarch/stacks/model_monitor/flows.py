"""Pattern ``model-monitor``: its data flows, for the architecture diagram.

The endpoint captures requests and responses into the bucket; the baseline script puts
the baseline there; on its schedule the data-quality job compares captures with the
baseline, writes reports, and publishes the drift metrics the alarm watches.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    EXTERNAL_GROUP,
    SAGEMAKER_ENDPOINT,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
    endpoint_clients,
)

_JOB_DEFINITION = Match("AWS::SageMaker::DataQualityJobDefinition")

FLOWS = PatternFlows(
    pseudo=(
        endpoint_clients("InvokeEndpoint"),
        Pseudo(
            "baseline-script",
            "Baseline script",
            "suggest_baseline, sagemaker SDK",
            EXTERNAL_GROUP,
            _JOB_DEFINITION,
        ),
    ),
    flows=(
        KnownFlow("clients", SAGEMAKER_ENDPOINT, "InvokeEndpoint"),
        KnownFlow(Match("AWS::SageMaker::EndpointConfig"), BUCKET, "data capture (KMS)"),
        KnownFlow("baseline-script", BUCKET, "baseline dataset, constraints, statistics"),
        KnownFlow(
            Match("AWS::SageMaker::MonitoringSchedule"),
            _JOB_DEFINITION,
            "runs on the cron schedule",
            by_design=True,
        ),
        KnownFlow(BUCKET, _JOB_DEFINITION, "captures and baseline in, reports out"),
        KnownFlow(
            _JOB_DEFINITION,
            Match("AWS::CloudWatch::Alarm"),
            "feature_baseline_drift metrics",
            by_design=True,
        ),
    ),
)
