"""The ``processing-job`` engine of the ``model-monitor`` pattern: the successor of Model Monitor.

SageMaker Model Monitor is closed to new customers; AWS names as what to use instead your
own scheduled processing with open-source monitoring code, CloudWatch metrics and alarms and
SNS, on SageMaker data capture and processing jobs, which stay available. This engine builds
that:

- an EventBridge Scheduler schedule whose universal target
  ``aws-sdk:sagemaker:createProcessingJob`` starts a processing job on the configured cron
  expression ("Using universal targets in EventBridge Scheduler",
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html); the
  job's name and report prefix carry ``<aws.scheduler.execution-id>``, so each run has its
  own ("Adding context attributes in EventBridge Scheduler",
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html);
- the processing job: the AWS scikit-learn processing image of the region (the committed
  image table, :mod:`ml_refarch.constructs.images`), network isolated, in the isolated VPC,
  its volume and output encrypted with the stack key; it runs the metric code of :mod:`.job`
  (uploaded as a zip asset, run with ``python3 <zip>``) on the endpoint's captures, the
  ground truth and the committed baseline (an asset too), and writes ``report.json``,
  ``report.html`` and ``metrics.json`` under ``job-reports/<job name>/``;
- a network-isolated job cannot call CloudWatch, so an EventBridge rule on the job's state
  change ("SageMaker Processing Job State Change",
  https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html)
  starts a state machine that reads ``metrics.json`` and publishes it with PutMetricData, or
  alerts the topic when the job failed or was stopped;
- alarms on the data-drift, bias-drift and accuracy metrics, to the encrypted topic.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from ml_refarch.aws_facts import has_local_storage
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs.execution_role import SageMakerExecutionRole
from ml_refarch.constructs.images import SKLEARN_FRAMEWORK, SKLEARN_VERSION, framework_image_uri
from ml_refarch.constructs.model_endpoint import ALL_TRAFFIC, HostingFoundation
from ml_refarch.constructs.service_role import service_role
from ml_refarch.constructs.workflow import (
    audited_workflow,
    caught,
    notify_failure,
    retried,
    starter_role,
    states_resource,
)
from ml_refarch.stacks.model_monitor.outputs import Outputs
from ml_refarch.stacks.model_monitor.settings import ModelMonitorSettings

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

    from ml_refarch.constructs.hosting import RealtimeEndpoint

HERE = Path(__file__).resolve().parent
#: The job's code (a zip asset) and the committed model's baseline.
JOB_DIR = HERE / "job"
BASELINE_FILE = HERE / "sample_data" / "churn-v1-baseline.csv"
#: Where things live in the monitor bucket: what the job reads under one prefix.
MONITORED_PREFIX = "monitored"
MONITORED_CAPTURE_PREFIX = f"{MONITORED_PREFIX}/captures"
GROUND_TRUTH_PREFIX = f"{MONITORED_PREFIX}/ground-truth"
JOB_REPORTS_PREFIX = "job-reports"
#: Container paths of the job.
CODE_PATH = "/opt/ml/processing/input/code"
BASELINE_PATH = "/opt/ml/processing/input/baseline"
MONITORED_PATH = "/opt/ml/processing/input/monitored"
OUTPUT_PATH = "/opt/ml/processing/output"
#: Where the publisher puts the job's metrics.
JOB_METRICS_NAMESPACE = "MlRefArch/EndpointMonitoring"
#: The processing image: AWS's scikit-learn image (Python 3 with numpy, scipy, pandas).
PROCESSING_IMAGE = (SKLEARN_FRAMEWORK, SKLEARN_VERSION, "training")
#: Errors of the publisher's SDK tasks worth a retry (throttling, service faults).
PUBLISH_RETRYABLE = ["States.TaskFailed"]


class ProcessingJobEngine:
    """The schedule, job, publisher and alarms, built on the stack (a mixin of the stack).

    Attributes (set by :meth:`build_processing_job`):
        job_role: the processing job's execution role.
        schedule: the EventBridge Scheduler schedule that starts the job.
        publisher: the state machine that publishes the job's metrics.
        alarms: data drift, bias drift and model quality alarms, by name.
    """

    bucket: s3.Bucket
    endpoint: RealtimeEndpoint

    def build_processing_job(
        self, settings: ModelMonitorSettings, foundation: HostingFoundation
    ) -> None:
        stack = cdk.Stack.of(self)
        self.job_name_prefix = f"{stack.stack_name.lower()}-monitor"[:46]
        code = s3_assets.Asset(
            self, "MonitorJobCode", path=str(JOB_DIR), exclude=["__pycache__", "*.pyc"]
        )
        baseline = s3_assets.Asset(self, "MonitorBaseline", path=str(BASELINE_FILE))
        self.job_role = self._job_role(foundation, [code, baseline])
        self.schedule = self._job_schedule(settings, foundation, code, baseline)
        self.publisher = self._publisher(foundation)
        self.alarms = self._job_alarms(settings, foundation)
        self._declare_job_outputs(foundation)

    def grant_captures(self, foundation: HostingFoundation) -> None:
        """The endpoint (its execution role) writes captures under the capture prefix."""
        foundation.role_policy.add_statements(
            iam.PolicyStatement(
                sid="CapturesWrite",
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{MONITORED_CAPTURE_PREFIX}/*")],
            )
        )
        bucket_id = cdk.Stack.of(self.bucket).get_logical_id(self.bucket.node.default_child)
        acknowledge(
            foundation.role_policy,
            "SageMaker names capture files by endpoint, variant and hour; the endpoint's role "
            "writes only under the capture prefix of the monitor bucket.",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{MONITORED_CAPTURE_PREFIX}/*]",
        )

    # --- the job --------------------------------------------------------------------------

    def _job_role(self, foundation: HostingFoundation, assets: list[s3_assets.Asset]) -> iam.Role:
        """The job reads the monitored prefix and its two assets, writes its reports."""
        asset_bucket = assets[0].bucket
        return SageMakerExecutionRole(
            self,
            "MonitorJob",
            data_bucket=self.bucket,
            encryption_key=foundation.key,
            description="The monitoring processing job: captures, ground truth, reports",
            extra_statements=[
                iam.PolicyStatement(
                    sid="JobAssets",
                    actions=["s3:GetObject"],
                    resources=[asset_bucket.arn_for_objects(a.s3_object_key) for a in assets],
                ),
                iam.PolicyStatement(
                    sid="JobAssetsList",
                    actions=["s3:ListBucket"],
                    resources=[asset_bucket.bucket_arn],
                ),
            ],
        ).role

    def _job_arguments(self, settings: ModelMonitorSettings, baseline: s3_assets.Asset) -> list:
        """The job's command line: where its inputs are, what it compares, its thresholds."""
        arguments = {
            "--endpoint-name": self.endpoint.endpoint_name,
            "--baseline": f"{BASELINE_PATH}/{baseline.s3_object_key}",
            "--captures": f"{MONITORED_PATH}/captures",
            "--ground-truth": f"{MONITORED_PATH}/ground-truth",
            "--output": OUTPUT_PATH,
            "--protected-attribute": settings.protected_attribute,
            "--group-attribute": settings.group_attribute,
            "--psi-threshold": f"{settings.psi_threshold:g}",
            "--ks-threshold": f"{settings.ks_threshold:g}",
            "--bias-drift-threshold": f"{settings.bias_drift_threshold:g}",
            "--min-accuracy": f"{settings.min_accuracy:g}",
        }
        return [part for pair in arguments.items() for part in pair]

    def _job_request(
        self,
        settings: ModelMonitorSettings,
        foundation: HostingFoundation,
        code: s3_assets.Asset,
        baseline: s3_assets.Asset,
    ) -> dict:
        """The CreateProcessingJob request the schedule sends."""
        key = foundation.key.key_arn
        network = foundation.network
        assert network is not None
        name = f"{self.job_name_prefix}-<aws.scheduler.execution-id>"

        def s3_input(input_name: str, uri: str, local_path: str) -> dict:
            return {
                "InputName": input_name,
                "S3Input": {
                    "S3Uri": uri,
                    "LocalPath": local_path,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            }

        volume_key = None if has_local_storage(settings.monitoring_instance_type) else key
        return {
            "ProcessingJobName": name,
            "RoleArn": self.job_role.role_arn,
            "AppSpecification": {
                "ImageUri": framework_image_uri(
                    self,
                    framework=PROCESSING_IMAGE[0],
                    version=PROCESSING_IMAGE[1],
                    image_scope=PROCESSING_IMAGE[2],
                ),
                "ContainerEntrypoint": ["python3", f"{CODE_PATH}/{code.s3_object_key}"],
                "ContainerArguments": self._job_arguments(settings, baseline),
            },
            "ProcessingInputs": [
                s3_input("code", code.s3_object_url, CODE_PATH),
                s3_input("baseline", baseline.s3_object_url, BASELINE_PATH),
                s3_input(
                    "monitored",
                    self.bucket.s3_url_for_object(f"{MONITORED_PREFIX}/"),
                    MONITORED_PATH,
                ),
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": key,
                "Outputs": [
                    {
                        "OutputName": "report",
                        "S3Output": {
                            "S3Uri": self.bucket.s3_url_for_object(f"{JOB_REPORTS_PREFIX}/{name}"),
                            "LocalPath": OUTPUT_PATH,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": settings.monitoring_instance_count,
                    "InstanceType": settings.monitoring_instance_type,
                    "VolumeSizeInGB": settings.monitoring_volume_size_gib,
                    **({"VolumeKmsKeyId": volume_key} if volume_key else {}),
                }
            },
            "NetworkConfig": {
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": True,
                "VpcConfig": {
                    "Subnets": [subnet.subnet_id for subnet in network.subnets],
                    "SecurityGroupIds": [network.workload_security_group.security_group_id],
                },
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        }

    def _job_schedule(
        self,
        settings: ModelMonitorSettings,
        foundation: HostingFoundation,
        code: s3_assets.Asset,
        baseline: s3_assets.Asset,
    ) -> scheduler.CfnSchedule:
        stack = cdk.Stack.of(self)
        jobs = f"{stack.format_arn(service='sagemaker', resource='processing-job')}"
        role, policy = service_role(
            self,
            "MonitorSchedule",
            service="scheduler.amazonaws.com",
            description="The monitoring schedule: start the monitoring processing job",
            statements=[
                iam.PolicyStatement(
                    sid="StartJob",
                    actions=["sagemaker:CreateProcessingJob"],
                    resources=[f"{jobs}/{self.job_name_prefix}-*"],
                ),
                iam.PolicyStatement(
                    sid="PassJobRole",
                    actions=["iam:PassRole"],
                    resources=[self.job_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
            ],
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        )
        acknowledge(
            policy,
            "Each run's job name ends in the schedule's execution id, which Scheduler makes "
            "when it fires; the role may create only jobs named with the stack's prefix.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
            f"<AWS::AccountId>:processing-job/{self.job_name_prefix}-*]",
        )
        request = self._job_request(settings, foundation, code, baseline)
        return scheduler.CfnSchedule(
            self,
            "MonitorSchedule",
            schedule_expression=settings.schedule_expression,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            description="Starts the endpoint's monitoring processing job",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=f"arn:{stack.partition}:scheduler:::aws-sdk:sagemaker:createProcessingJob",
                role_arn=role.role_arn,
                input=stack.to_json_string(request),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600
                ),
            ),
        )

    # --- publishing -----------------------------------------------------------------------

    def _publisher_definition(self, topic: sns.ITopic) -> sfn.IChainable:
        """Completed: read metrics.json, PutMetricData; failed or stopped: alert the topic."""
        scope = self  # the stack: the states are its children
        notify = notify_failure(
            scope,
            topic=topic,
            subject="ml-refarch endpoint monitoring job did not complete",
            error="MonitoringJobFailed",
        )
        read = sfn.CustomState(
            scope,
            "ReadMetrics",
            state_json={
                "Type": "Task",
                "Resource": states_resource("aws-sdk:s3:getObject"),
                "Parameters": {
                    "Bucket": self.bucket.bucket_name,
                    "Key.$": (
                        f"States.Format('{JOB_REPORTS_PREFIX}/{{}}/metrics.json', "
                        "$.detail.ProcessingJobName)"
                    ),
                },
                "ResultSelector": {"metrics.$": "States.StringToJson($.Body)"},
                "ResultPath": "$.report",
            },
        )
        publish = sfn.CustomState(
            scope,
            "PublishMetrics",
            state_json={
                "Type": "Task",
                "Resource": states_resource("aws-sdk:cloudwatch:putMetricData"),
                "Parameters": {
                    "Namespace": JOB_METRICS_NAMESPACE,
                    "MetricData.$": "$.report.metrics",
                },
                "ResultPath": None,
            },
        )
        for state in (read, publish):
            caught(retried(state, errors=PUBLISH_RETRYABLE, max_attempts=3), notify)
        completed = sfn.Condition.string_equals("$.detail.ProcessingJobStatus", "Completed")
        return (
            sfn.Choice(scope, "JobCompleted")
            .when(completed, read.next(publish).next(sfn.Succeed(scope, "Published")))
            .otherwise(notify)
        )

    def _publisher(self, foundation: HostingFoundation) -> sfn.StateMachine:
        """The state machine that publishes each run's metrics, and the rule that starts it."""
        topic = foundation.topic
        workflow = audited_workflow(
            self,
            "Publisher",
            definition=self._publisher_definition(topic),
            description="Publishes the monitoring job's metrics; alerts when a run fails",
            statements=[
                iam.PolicyStatement(
                    sid="ReadMetrics",
                    actions=["s3:GetObject"],
                    resources=[self.bucket.arn_for_objects(f"{JOB_REPORTS_PREFIX}/*")],
                ),
                iam.PolicyStatement(
                    sid="MetricsKey", actions=["kms:Decrypt"], resources=[foundation.key.key_arn]
                ),
                iam.PolicyStatement(
                    sid="PublishMetrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": JOB_METRICS_NAMESPACE}},
                ),
            ],
            wildcard_reason=(
                "Each run's report lies under its job's name, made when the schedule fires; "
                "PutMetricData has no resource type (the namespace condition limits it)."
            ),
            wildcard_findings=[
                "AwsSolutions-IAM5[Resource::<"
                + cdk.Stack.of(self.bucket).get_logical_id(self.bucket.node.default_child)
                + f".Arn>/{JOB_REPORTS_PREFIX}/*]",
            ],
            alert_topic=topic,
            encryption_key=foundation.key,
            log_retention=self.defaults.log_retention,
            log_removal_policy=self.defaults.removal_policy,
            timeout=cdk.Duration.minutes(15),
        )
        self._job_finished_rule(workflow.state_machine)
        return workflow.state_machine

    def _job_finished_rule(self, state_machine: sfn.StateMachine) -> events.Rule:
        """Starts the publisher when one of the stack's monitoring jobs ends."""
        scope = self
        rule_role = starter_role(
            scope,
            "MonitorJobFinished",
            description="The job-finished rule: start the publisher",
            sid="StartPublisher",
            state_machine=state_machine,
        )
        rule = events.Rule(
            scope,
            "MonitorJobFinished",
            description="The monitoring job completed, failed or stopped",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Processing Job State Change"],
                detail={
                    "ProcessingJobStatus": ["Completed", "Failed", "Stopped"],
                    "ProcessingJobName": [{"prefix": f"{self.job_name_prefix}-"}],
                },
            ),
            targets=[
                targets.SfnStateMachine(state_machine, role=rule_role.without_policy_updates())
            ],
        )
        acknowledge(
            rule,
            "A lost event costs one run's metrics only: the run's report stays in S3, the next "
            "run publishes again, and a publisher run that fails alerts the topic.",
            "Serverless-EventBusDLQ",
        )
        return rule

    # --- alarms ---------------------------------------------------------------------------

    def _job_alarms(
        self, settings: ModelMonitorSettings, foundation: HostingFoundation
    ) -> dict[str, cloudwatch.Alarm]:
        """Alarms on the summary metrics each run publishes (missing between runs: OK)."""
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        below = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
        specs = {
            "DataDriftAlarm": (
                "drifted_features",
                0,
                above,
                "Data quality: a feature's PSI, Kolmogorov-Smirnov statistic, missing values or "
                "type errors crossed its threshold",
            ),
            "BiasDriftAlarm": (
                "bias_drift_max",
                settings.bias_drift_threshold,
                above,
                "Bias drift: a Clarify metric of a segment of "
                f"{settings.protected_attribute} moved more than "
                f"{settings.bias_drift_threshold:g} from the baseline",
            ),
            "ModelQualityAlarm": (
                "accuracy",
                settings.min_accuracy,
                below,
                f"Model quality: accuracy against the ground truth below {settings.min_accuracy:g}",
            ),
        }
        action = cloudwatch_actions.SnsAction(foundation.topic)
        alarms = {}
        for construct_id, (metric_name, threshold, operator, description) in specs.items():
            alarm = cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=description,
                metric=cloudwatch.Metric(
                    namespace=JOB_METRICS_NAMESPACE,
                    metric_name=metric_name,
                    dimensions_map={"Endpoint": self.endpoint.endpoint_name},
                    statistic="Maximum" if operator == above else "Minimum",
                    period=cdk.Duration.hours(1),
                ),
                threshold=threshold,
                comparison_operator=operator,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            alarms[construct_id] = alarm
        return alarms

    def _declare_job_outputs(self, foundation: HostingFoundation) -> None:
        output = self.output
        bucket = self.bucket
        output(Outputs.ENDPOINT_NAME, self.endpoint.endpoint_name, "The monitored endpoint")
        output(Outputs.VARIANT_NAME, ALL_TRAFFIC, "Its production variant")
        output(Outputs.BUCKET_NAME, bucket.bucket_name, "Captures, ground truth and reports")
        output(
            Outputs.CAPTURE_URI,
            bucket.s3_url_for_object(MONITORED_CAPTURE_PREFIX),
            "Where the endpoint's captured requests and responses land",
        )
        output(
            Outputs.GROUND_TRUTH_URI,
            bucket.s3_url_for_object(GROUND_TRUTH_PREFIX),
            "Where to put ground truth (JSON Lines, by inference id)",
        )
        output(
            Outputs.REPORTS_URI,
            bucket.s3_url_for_object(JOB_REPORTS_PREFIX),
            "Each run's report.json, report.html and metrics.json, under the job's name",
        )
        output(Outputs.SCHEDULE_NAME, self.schedule.ref, "Starts the monitoring job")
        output(Outputs.JOB_ROLE_ARN, self.job_role.role_arn, "The monitoring job's role")
        output(Outputs.PUBLISHER_ARN, self.publisher.state_machine_arn, "Publishes the metrics")
        output(Outputs.METRICS_NAMESPACE, JOB_METRICS_NAMESPACE, "The job's CloudWatch metrics")
        for name, alarm in self.alarms.items():
            output(name + "Name", alarm.alarm_name, alarm.node.id)
        output(Outputs.TOPIC_ARN, foundation.topic.topic_arn, "Alarm notifications (subscribe)")
        output(Outputs.KEY_ARN, foundation.key.key_arn, "Key of the bucket, job volume, output")
