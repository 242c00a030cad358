"""The ``model-monitor`` engine of the ``model-monitor`` pattern: SageMaker Model Monitor.

Model Monitor is closed to new customers (every Model Monitor page of the SageMaker AI
developer guide says so); this engine (``model-monitor.engine=model-monitor``) is for accounts
that already use it, and builds what the pattern built before the successor:

- an ``AWS::SageMaker::DataQualityJobDefinition``: the Model Monitor analyzer reads the
  endpoint's captures, compares them with the baseline (``constraints.json`` and
  ``statistics.json`` at fixed S3 URIs, written by :mod:`.baseline`) and writes reports;
  KMS volume and output keys, network isolation, the isolated VPC and inter-container
  encryption,
- an ``AWS::SageMaker::MonitoringSchedule`` running it on a cron schedule (hourly by
  default),
- a CloudWatch alarm on the largest per-feature baseline drift the runs publish, to the
  encrypted alert topic.

The captured CSV has no header, and Model Monitor places the endpoint's output before the
input columns when it flattens a captured record. The baseline dataset therefore has no
header either and the same layout: the model's score, then the eight features, so the
analyzer names the columns ``_c0`` (the score) to ``_c8`` in both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from ml_refarch.aws_facts import has_local_storage
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs.digest_name import DigestName
from ml_refarch.constructs.images import (
    MODEL_MONITOR_FRAMEWORK,
    MODEL_MONITOR_SCOPE,
    MODEL_MONITOR_VERSION,
    framework_image_uri,
)
from ml_refarch.constructs.model_endpoint import ALL_TRAFFIC, HostingFoundation
from ml_refarch.model_artifacts import DATASET_FEATURES
from ml_refarch.stacks.model_monitor.outputs import Outputs
from ml_refarch.stacks.model_monitor.settings import ModelMonitorSettings

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

    from ml_refarch.constructs.hosting import RealtimeEndpoint

#: Where Model Monitor's things live in the monitor bucket.
CAPTURE_PREFIX = "data-capture"
BASELINE_DATASET_KEY = "baseline/dataset/baseline.csv"
BASELINE_RESULTS_PREFIX = "baseline/results"
REPORTS_PREFIX = "reports"
#: The files a baselining job writes under its output, which the job definition reads.
CONSTRAINTS_FILE = "constraints.json"
STATISTICS_FILE = "statistics.json"

#: Columns as the analyzer names them without a header: the score, then each feature.
COLUMNS = tuple(f"_c{index}" for index in range(DATASET_FEATURES + 1))

#: Where Model Monitor publishes a real-time endpoint's data quality metrics.
METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"

#: Container paths of a monitoring run (the analyzer's conventions).
INPUT_LOCAL_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_LOCAL_PATH = "/opt/ml/processing/output"

#: What Model Monitor's execution role publishes besides the /aws/sagemaker/ namespaces.
MONITOR_METRICS_STATEMENT = dict(
    sid="MonitorMetrics",
    actions=["cloudwatch:PutMetricData"],
    resources=["*"],
    conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
)


class _MonitorUris(NamedTuple):
    """The baseline results the job definition reads and where it writes reports."""

    constraints: str
    statistics: str
    reports: str


class ModelMonitorEngine:
    """The Model Monitor resources, built on the stack (a mixin of the stack class, so the
    resources keep the logical ids they had before the successor engine).

    Attributes (set by :meth:`build_model_monitor`):
        job_definition: the data quality job definition.
        job_definition_name: its name, a digest of its properties (set at synthesis).
        schedule: the monitoring schedule.
        drift_alarm: fires when any column's baseline drift exceeds the threshold.
    """

    bucket: s3.Bucket
    endpoint: RealtimeEndpoint
    settings: ModelMonitorSettings

    def build_model_monitor(
        self, settings: ModelMonitorSettings, foundation: HostingFoundation
    ) -> None:
        self.job_definition = self._data_quality_job(settings, foundation)
        self.schedule = self._schedule(settings)
        self.drift_alarm = self._drift_alarm(self.schedule.monitoring_schedule_name, foundation)
        self._declare_model_monitor_outputs(settings, foundation)

    def _uris(self) -> _MonitorUris:
        return _MonitorUris(
            constraints=self.bucket.s3_url_for_object(
                f"{BASELINE_RESULTS_PREFIX}/{CONSTRAINTS_FILE}"
            ),
            statistics=self.bucket.s3_url_for_object(
                f"{BASELINE_RESULTS_PREFIX}/{STATISTICS_FILE}"
            ),
            reports=self.bucket.s3_url_for_object(REPORTS_PREFIX),
        )

    @staticmethod
    def _job_network(foundation: HostingFoundation) -> tuple[list[str], list[str]]:
        """The jobs' subnets and security groups."""
        network = foundation.network
        assert network is not None
        return (
            [subnet.subnet_id for subnet in network.subnets],
            [network.workload_security_group.security_group_id],
        )

    def _data_quality_job(
        self, settings: ModelMonitorSettings, foundation: HostingFoundation
    ) -> sagemaker.CfnDataQualityJobDefinition:
        """The analyzer: the endpoint's captures against the baseline, reports to S3."""
        key, uris = foundation.key, self._uris()
        subnets, security_groups = self._job_network(foundation)
        job = sagemaker.CfnDataQualityJobDefinition
        job_definition = job(
            self,
            "DataQualityJob",
            job_definition_name=self._job_definition_prefix(),
            data_quality_app_specification=job.DataQualityAppSpecificationProperty(
                image_uri=framework_image_uri(
                    self,
                    framework=MODEL_MONITOR_FRAMEWORK,
                    version=MODEL_MONITOR_VERSION,
                    image_scope=MODEL_MONITOR_SCOPE,
                ),
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            data_quality_baseline_config=job.DataQualityBaselineConfigProperty(
                constraints_resource=job.ConstraintsResourceProperty(s3_uri=uris.constraints),
                statistics_resource=job.StatisticsResourceProperty(s3_uri=uris.statistics),
            ),
            data_quality_job_input=job.DataQualityJobInputProperty(
                endpoint_input=job.EndpointInputProperty(
                    endpoint_name=self.endpoint.endpoint_name,
                    local_path=INPUT_LOCAL_PATH,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            data_quality_job_output_config=job.MonitoringOutputConfigProperty(
                kms_key_id=key.key_arn,
                monitoring_outputs=[
                    job.MonitoringOutputProperty(
                        s3_output=job.S3OutputProperty(
                            local_path=OUTPUT_LOCAL_PATH,
                            s3_uri=uris.reports,
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            job_resources=job.MonitoringResourcesProperty(
                cluster_config=job.ClusterConfigProperty(
                    instance_count=settings.monitoring_instance_count,
                    instance_type=settings.monitoring_instance_type,
                    volume_size_in_gb=settings.monitoring_volume_size_gib,
                    # Instances with local NVMe storage are encrypted in hardware, and the
                    # API refuses a volume key for them.
                    volume_kms_key_id=(
                        None
                        if has_local_storage(settings.monitoring_instance_type)
                        else key.key_arn
                    ),
                )
            ),
            network_config=job.NetworkConfigProperty(
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=True,
                vpc_config=job.VpcConfigProperty(
                    subnets=subnets, security_group_ids=security_groups
                ),
            ),
            role_arn=foundation.role.role_arn,
            stopping_condition=job.StoppingConditionProperty(
                max_runtime_in_seconds=settings.max_runtime_seconds
            ),
        )
        # The role must read the captures and the baseline before the first run.
        job_definition.node.add_dependency(foundation.role_policy)
        # Every property of a job definition is create-only: a change replaces it, which
        # needs a new name.
        self.job_definition_name = DigestName(
            job_definition,
            name_property="JobDefinitionName",
            prefix=self._job_definition_prefix(),
        )
        return job_definition

    def _schedule(self, settings: ModelMonitorSettings) -> sagemaker.CfnMonitoringSchedule:
        """Runs the data quality job on the configured cron schedule."""
        config = sagemaker.CfnMonitoringSchedule
        schedule = config(
            self,
            "Schedule",
            monitoring_schedule_name=f"{self.node.id}-data-quality",
            endpoint_name=self.endpoint.endpoint_name,
            monitoring_schedule_config=config.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=self.job_definition_name.prefix,
                monitoring_type="DataQuality",
                schedule_config=config.ScheduleConfigProperty(
                    schedule_expression=settings.schedule_expression
                ),
            ),
        )
        schedule.node.add_dependency(self.job_definition)
        self.job_definition_name.use(
            lambda name: schedule.add_property_override(
                "MonitoringScheduleConfig.MonitoringJobDefinitionName", name
            )
        )
        return schedule

    def _declare_model_monitor_outputs(
        self, settings: ModelMonitorSettings, foundation: HostingFoundation
    ) -> None:
        uris = self._uris()
        subnets, security_groups = self._job_network(foundation)
        key, role = foundation.key, foundation.role
        outputs = {
            Outputs.ENDPOINT_NAME: (self.endpoint.endpoint_name, "The monitored endpoint"),
            Outputs.VARIANT_NAME: (ALL_TRAFFIC, "Its production variant"),
            Outputs.SCHEDULE_NAME: (
                self.schedule.monitoring_schedule_name,
                "The data quality monitoring schedule",
            ),
            Outputs.JOB_DEFINITION_NAME: (
                self.job_definition_name.prefix,
                "The data quality job definition",
            ),
            Outputs.BUCKET_NAME: (self.bucket.bucket_name, "Captures, baseline and reports"),
            Outputs.CAPTURE_URI: (
                self.bucket.s3_url_for_object(CAPTURE_PREFIX),
                "Where the endpoint's captured requests and responses land",
            ),
            Outputs.BASELINE_DATASET_URI: (
                self.bucket.s3_url_for_object(BASELINE_DATASET_KEY),
                "The baseline CSV the baseline script uploads",
            ),
            Outputs.BASELINE_RESULTS_URI: (
                self.bucket.s3_url_for_object(BASELINE_RESULTS_PREFIX),
                "Where the baselining job writes constraints.json and statistics.json",
            ),
            Outputs.CONSTRAINTS_URI: (uris.constraints, "The constraints the monitor checks"),
            Outputs.STATISTICS_URI: (
                uris.statistics,
                "The baseline statistics the monitor compares",
            ),
            Outputs.REPORTS_URI: (uris.reports, "Monitoring reports and violations"),
            Outputs.ROLE_ARN: (
                role.role_arn,
                "Role of the endpoint, baselining and monitoring jobs",
            ),
            Outputs.KEY_ARN: (key.key_arn, "Key of the bucket, job volumes and outputs"),
            Outputs.SUBNET_IDS: (cdk.Fn.join(",", subnets), "Isolated subnets of the jobs"),
            Outputs.SECURITY_GROUP_IDS: (
                cdk.Fn.join(",", security_groups),
                "Security group of jobs",
            ),
            Outputs.MONITORING_INSTANCE_TYPE: (
                settings.monitoring_instance_type,
                "Instance type of monitoring and baselining jobs",
            ),
            Outputs.MONITORING_INSTANCE_COUNT: (
                str(settings.monitoring_instance_count),
                "Instances of monitoring and baselining jobs",
            ),
            Outputs.MONITORING_VOLUME_SIZE_GI_B: (
                str(settings.monitoring_volume_size_gib),
                "ML storage volume of monitoring and baselining jobs",
            ),
            Outputs.MAX_RUNTIME_SECONDS: (
                str(settings.max_runtime_seconds),
                "Time limit of monitoring and baselining jobs",
            ),
            Outputs.DRIFT_ALARM_NAME: (self.drift_alarm.alarm_name, "Alarm on baseline drift"),
            Outputs.TOPIC_ARN: (foundation.topic.topic_arn, "Alarm notifications (subscribe here)"),
        }
        declared = {
            name: self.output(name, value, description)
            for name, (value, description) in outputs.items()
        }
        job_output = declared[Outputs.JOB_DEFINITION_NAME]
        self.job_definition_name.use(lambda name: setattr(job_output, "value", name))

    def _grant_monitor_data(self, foundation: HostingFoundation) -> None:
        """The role's access to the monitor bucket, by prefix and by who needs it.

        The endpoint writes captures; baselining reads the dataset and writes the results;
        monitoring runs read captures and the baseline results and write reports.
        """
        bucket = self.bucket
        foundation.role_policy.add_statements(
            iam.PolicyStatement(
                sid="MonitorDataRead",
                actions=["s3:GetObject"],
                resources=[
                    bucket.arn_for_objects(f"{CAPTURE_PREFIX}/*"),
                    bucket.arn_for_objects("baseline/*"),
                ],
            ),
            iam.PolicyStatement(
                sid="MonitorDataWrite",
                actions=["s3:PutObject"],
                resources=[
                    bucket.arn_for_objects(f"{CAPTURE_PREFIX}/*"),
                    bucket.arn_for_objects(f"{BASELINE_RESULTS_PREFIX}/*"),
                    bucket.arn_for_objects(f"{REPORTS_PREFIX}/*"),
                ],
            ),
            iam.PolicyStatement(
                sid="MonitorDataList", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]
            ),
        )
        bucket_id = self.get_logical_id(bucket.node.default_child)
        acknowledge(
            foundation.role_policy,
            "SageMaker names capture files by endpoint, variant and hour, and each baselining "
            "or monitoring run writes files it names itself; the role reaches only the "
            "capture, baseline and report prefixes of the monitor bucket.",
            *(
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}/*]"
                for prefix in (CAPTURE_PREFIX, "baseline", BASELINE_RESULTS_PREFIX, REPORTS_PREFIX)
            ),
        )

    def _job_definition_prefix(self) -> str:
        """The readable part of the job definition's name (:class:`DigestName` adds the
        digest at synthesis)."""
        return f"{self.node.id}-dq"

    def _drift_alarm(self, schedule_name: str, foundation: HostingFoundation) -> cloudwatch.Alarm:
        """Alarm when any column drifts: the maximum of the per-column drift metrics.

        Model Monitor publishes one ``feature_baseline_drift_<column>`` metric per column
        and nothing that sums them up, so a metric math ``MAX`` over the nine columns (within
        an alarm's limit of ten metrics) fires on whichever drifts.
        """
        period = cdk.Duration.hours(1)
        metrics = {
            f"drift{index}": cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=f"{DRIFT_METRIC_PREFIX}{column}",
                dimensions_map={
                    "Endpoint": self.endpoint.endpoint_name,
                    "MonitoringSchedule": schedule_name,
                },
                statistic="Maximum",
                period=period,
            )
            for index, column in enumerate(COLUMNS)
        }
        threshold = self.settings.drift_threshold
        alarm = cloudwatch.Alarm(
            self,
            "DriftAlarm",
            alarm_description=(
                f"Data quality drift: a column's distance from the baseline exceeds {threshold:g} "
                f"(_c0 is the model's score, _c1-_c{DATASET_FEATURES} the features)"
            ),
            metric=cloudwatch.MathExpression(
                expression=f"MAX([{', '.join(metrics)}])",
                using_metrics=metrics,
                label="largest baseline drift",
                period=period,
            ),
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            # Between runs (and before the first) there are no data points.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(foundation.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm
