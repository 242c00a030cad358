"""Pattern ``model-monitor``: drift monitoring of a real-time endpoint, with alarms.

Notes sections "Model monitor" (data quality, model quality and bias drift against a
baseline, data in S3 and metrics in CloudWatch), "Pre-training bias metrics in Clarify",
"Inference" (instances in two zones, auto scaling with cooldowns) and "Security" (KMS for
volumes and outputs, network isolation, jobs in a VPC). Every engine builds:

- the committed ``churn-v1`` model behind an endpoint of two or more instances (network
  isolated, in the isolated VPC), target tracking auto scaling, 5xx and latency alarms,
- data capture of requests and responses to the monitor bucket (KMS, a sampling share
  from the configuration).

What monitors the captures depends on ``model-monitor.engine``:

- ``processing-job`` (default; :mod:`.processing_engine`): an EventBridge Scheduler
  schedule starts a SageMaker processing job that runs this project's metric code
  (:mod:`.job`) on the captures, the ground truth and a baseline; its metrics go to
  CloudWatch with alarms to the encrypted topic, its report to S3. SageMaker Model Monitor
  is closed to new customers; AWS names this shape, scheduled processing with open-source
  tooling, CloudWatch and SNS, as what to use instead.
- ``model-monitor`` (:mod:`.model_monitor_engine`): SageMaker Model Monitor's data quality
  job definition and monitoring schedule, for accounts that already use Model Monitor.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.hosting import DataCapture, ModelArtifact, RealtimeEndpoint
from ml_refarch.constructs.model_endpoint import HostingFoundation, ModelEndpoint, ServedModel
from ml_refarch.model_artifacts import DEFAULT_MODEL
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.model_monitor.model_monitor_engine import (
    CAPTURE_PREFIX,
    COLUMNS,
    METRICS_NAMESPACE,
    MONITOR_METRICS_STATEMENT,
    ModelMonitorEngine,
)
from ml_refarch.stacks.model_monitor.processing_engine import (
    MONITORED_CAPTURE_PREFIX,
    ProcessingJobEngine,
)
from ml_refarch.stacks.model_monitor.settings import MODEL_MONITOR, ModelMonitorSettings

__all__ = ["CAPTURE_PREFIX", "COLUMNS", "METRICS_NAMESPACE", "ModelMonitorStack"]


class ModelMonitorStack(PatternStack, ModelMonitorEngine, ProcessingJobEngine):
    """A captured endpoint and what monitors it (see the module docstring).

    Attributes:
        bucket: captures, ground truth, baselines and reports.
        endpoint: the monitored endpoint.
        (and each engine's: :class:`ModelMonitorEngine`, :class:`ProcessingJobEngine`)
    """

    def build(self, settings: ModelMonitorSettings) -> None:
        legacy = settings.engine == MODEL_MONITOR
        artifact = ModelArtifact(self, "Artifact", model_name=DEFAULT_MODEL)
        foundation = self._foundation(artifact, legacy=legacy)
        self.bucket = self._monitor_bucket(foundation.key)
        if legacy:
            self._grant_monitor_data(foundation)
        else:
            self.grant_captures(foundation)
        capture_prefix = CAPTURE_PREFIX if legacy else MONITORED_CAPTURE_PREFIX
        self.endpoint = self._endpoint(settings, foundation, artifact, capture_prefix)
        if legacy:
            self.build_model_monitor(settings, foundation)
        else:
            self.build_processing_job(settings, foundation)

    def _foundation(self, artifact: ModelArtifact, *, legacy: bool) -> HostingFoundation:
        """Key, role, isolated VPC and alert topic; for Model Monitor, the role may publish
        the monitoring runs' metrics (outside the /aws/sagemaker/ namespaces the execution
        role's own statement allows)."""
        return HostingFoundation(
            self,
            "Hosting",
            defaults=self.defaults,
            purpose="monitored endpoint",
            artifacts=[artifact],
            extra_statements=[iam.PolicyStatement(**MONITOR_METRICS_STATEMENT)] if legacy else [],
        )

    def _monitor_bucket(self, key: kms.IKey) -> s3.Bucket:
        return SecureBucket(
            self,
            "MonitorData",
            **self.defaults.bucket_props(),
            encryption_key=key,
            contents="captured requests and responses, the baseline and monitoring reports",
            no_replication_because=(
                "Captures are a sample of live traffic kept for drift analysis, and baselines "
                "and reports are rebuilt from them; none is a system of record to replicate."
            ),
        ).bucket

    def _endpoint(
        self,
        settings: ModelMonitorSettings,
        foundation: HostingFoundation,
        artifact: ModelArtifact,
        capture_prefix: str,
    ) -> RealtimeEndpoint:
        """The served model, capturing a sample of its requests and responses."""
        endpoint = ModelEndpoint(
            self,
            "Default",
            foundation=foundation,
            models=[ServedModel.xgboost(self, artifact)],
            hosting=settings,
            data_capture=DataCapture(
                bucket=self.bucket,
                prefix=capture_prefix,
                sampling_percentage=settings.sampling_percentage,
                encryption_key=foundation.key,
            ),
        ).endpoint
        # SageMaker writes the first captures as soon as the endpoint serves.
        endpoint.endpoint.node.add_dependency(foundation.role_policy)
        return endpoint
