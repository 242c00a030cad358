"""Pattern ``feature-store-spark``: a PySpark job on EMR Serverless fills a feature group.

Notes sections "Apache Spark & Sagemaker" (pre-process big data with Spark, train with
SageMaker) and "Sagemaker tools" (Feature Store: find and share features). Resources:

- an isolated VPC whose interface endpoints are what the job's workers call: SageMaker
  Feature Store runtime (``PutRecord``) and CloudWatch Logs, with the S3 gateway;
- an EMR Serverless Spark application in its subnets (release, idle timeout and maximum
  capacity from settings; auto-start on a job, auto-stop when idle, so no worker runs
  idle), logging to S3 and CloudWatch Logs with the stack's key
  (AWS::EMRServerless::Application,
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-emrserverless-application.html);
- the PySpark job (:mod:`.job.prepare_features`, an asset) and the role it runs as;
- a feature group: an online store encrypted with the key, an offline store in the bucket
  with the key and the Iceberg table format, record identifier and event time from
  settings, and the role Feature Store writes the offline store and its Glue table as;
- an Athena workgroup (engine 3, results encrypted with the key) that exports the offline
  store's current records as CSV for training;
- a state machine (:mod:`.workflow`): the job run (``emr-serverless:startJobRun.sync``),
  a wait for the offline store, the export, then a SageMaker training job (built-in
  XGBoost, network isolated, in the VPC); retries, failures to an encrypted SNS topic.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.digest_name import DigestName
from ml_refarch.constructs.execution_role import SageMakerExecutionRole
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.constructs.service_role import service_role
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.feature_store_spark import workflow
from ml_refarch.stacks.feature_store_spark.job.prepare_features import FEATURES
from ml_refarch.stacks.feature_store_spark.outputs import Outputs
from ml_refarch.stacks.feature_store_spark.settings import FeatureStoreSparkSettings

JOB_SCRIPT = Path(__file__).resolve().parent / "job" / "prepare_features.py"

S = ec2.InterfaceVpcEndpointAwsService
#: What the job's workers call from the isolated subnets (S3 goes through the gateway).
JOB_SERVICES: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "FeatureStoreRuntime": S.SAGEMAKER_FEATURESTORE_RUNTIME,
    "Logs": S.CLOUDWATCH_LOGS,
}

LAKE_PREFIX = "lake/"
OFFLINE_STORE_PREFIX = "offline-store"
SPARK_LOGS_PREFIX = "spark-logs/"
ATHENA_RESULTS_PREFIX = "athena-results/"
TRAINING_PREFIX = "training/"
MODELS_PREFIX = "models/"
#: The Glue database Feature Store creates offline store tables in
#: ("AmazonSageMakerFeatureStoreAccess", below).
FEATURE_STORE_DATABASE = "sagemaker_featurestore"
#: Feature Store's offline store permissions, from the AWS managed policy
#: "AmazonSageMakerFeatureStoreAccess"
#: (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSageMakerFeatureStoreAccess.html).
OFFLINE_STORE_WRITES = ["s3:PutObject", "s3:GetBucketAcl", "s3:PutObjectAcl"]


class FeatureStoreSparkStack(PatternStack):
    """EMR Serverless -> Feature Store -> Athena export -> SageMaker training.

    Attributes:
        key: the stack's key (bucket, logs, online and offline store, results, topic).
        bucket: lake input, offline store, Spark logs, exports and models.
        application: the EMR Serverless application (L1).
        job_role: what the Spark job runs as.
        feature_group: the feature group (L1); its ``Ref`` is its name.
        workgroup: the Athena workgroup (L1).
        state_machine: the workflow; topic: its failure alerts.
    """

    def build(self, settings: FeatureStoreSparkSettings) -> None:
        self.key = self.data_key("lake, feature store, Spark logs, exports, models, alerts")
        self.network = IsolatedVpc(
            self,
            "Network",
            **self.defaults.vpc_props(),
            encryption_key=self.key,
            services=JOB_SERVICES,
        )
        self.bucket = SecureBucket(
            self,
            "Data",
            **self.defaults.bucket_props(),
            encryption_key=self.key,
            contents="lake input, the offline store, Spark logs, training exports and models",
            no_replication_because=(
                "The lake input is a sample the smoke check uploads; every other object is "
                "rebuilt by the next run of the workflow. Replication is left to the team."
            ),
        ).bucket
        self.spark_log_group = self.log_group("SparkLogs", self.key)
        self.feature_group, self.offline_store_role = self._feature_group(settings)
        script = s3_assets.Asset(self, "JobScript", path=str(JOB_SCRIPT))
        self.job_role = self._job_role(script)
        self.application = self._application(settings)
        self.workgroup = self._workgroup()
        self.training_role = SageMakerExecutionRole(
            self,
            "TrainingRole",
            data_bucket=self.bucket,
            encryption_key=self.key,
            description="The training job: read the exported features, write the model",
        ).role
        self.topic = sns.Topic(
            self,
            "Alerts",
            display_name="ml-refarch feature store workflow alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        built = workflow.build(self, settings, script)
        self.state_machine = built.state_machine
        self._declare_outputs(settings, built.log_group)

    # --- the feature group ----------------------------------------------------------------

    def _offline_store_role(self) -> tuple[iam.Role, iam.ManagedPolicy]:
        """The role Feature Store writes the offline store and its Glue table as."""
        glue = f"arn:{self.partition}:glue:{self.region}:{self.account}"
        role, policy = service_role(
            self,
            "OfflineStore",
            service="sagemaker.amazonaws.com",
            description="Feature Store writes the offline store and updates its Glue table",
            statements=[
                iam.PolicyStatement(
                    sid="WriteOfflineStore",
                    actions=OFFLINE_STORE_WRITES,
                    resources=[
                        self.bucket.bucket_arn,
                        self.bucket.arn_for_objects(f"{OFFLINE_STORE_PREFIX}/*"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadIcebergMetadata",
                    actions=["s3:GetObject"],
                    resources=[self.bucket.arn_for_objects(f"{OFFLINE_STORE_PREFIX}/*")],
                ),
                iam.PolicyStatement(
                    sid="GlueTable",
                    actions=["glue:GetTable", "glue:UpdateTable"],
                    resources=[
                        f"{glue}:catalog",
                        f"{glue}:database/{FEATURE_STORE_DATABASE}",
                        f"{glue}:table/{FEATURE_STORE_DATABASE}/*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="OfflineStoreKey",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[self.key.key_arn],
                ),
            ],
            conditions={"StringEquals": {"aws:SourceAccount": self.account}},
        )
        bucket_id = self.get_logical_id(self.bucket.node.default_child)
        acknowledge(
            policy,
            "Feature Store names the offline store's files and its Glue table per feature "
            "group and write (<prefix>/<account>/sagemaker/<region>/offline-store/<group>-"
            "<time>/), so both end in a wildcard within the offline store prefix and its "
            "database.",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{OFFLINE_STORE_PREFIX}/*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:"
            f"<AWS::AccountId>:table/{FEATURE_STORE_DATABASE}/*]",
        )
        return role, policy

    def _feature_group(
        self, settings: FeatureStoreSparkSettings
    ) -> tuple[sagemaker.CfnFeatureGroup, iam.Role]:
        role, policy = self._offline_store_role()
        definitions = [
            sagemaker.CfnFeatureGroup.FeatureDefinitionProperty(
                feature_name=settings.record_identifier, feature_type="String"
            ),
            sagemaker.CfnFeatureGroup.FeatureDefinitionProperty(
                feature_name=settings.event_time_feature, feature_type="String"
            ),
            *(
                sagemaker.CfnFeatureGroup.FeatureDefinitionProperty(
                    feature_name=name, feature_type=kind
                )
                for name, kind in FEATURES
            ),
        ]
        group = sagemaker.CfnFeatureGroup(
            self,
            "FeatureGroup",
            feature_group_name="placeholder",
            description="Customer features computed by the Spark job",
            record_identifier_feature_name=settings.record_identifier,
            event_time_feature_name=settings.event_time_feature,
            feature_definitions=definitions,
            # Both store configurations are untyped JSON in the L1: CloudFormation's names.
            online_store_config={
                "EnableOnlineStore": True,
                "SecurityConfig": {"KmsKeyId": self.key.key_arn},
            },
            offline_store_config={
                "S3StorageConfig": {
                    "S3Uri": self.bucket.s3_url_for_object(OFFLINE_STORE_PREFIX),
                    "KmsKeyId": self.key.key_arn,
                },
                "TableFormat": "Iceberg",
                "DisableGlueTableCreation": False,
            },
            role_arn=role.role_arn,
        )
        # Nearly every property is create-only: a change replaces the group, which needs a
        # new name (see DigestName).
        DigestName(group, name_property="FeatureGroupName", prefix="customer-features")
        group.node.add_dependency(policy)
        group.apply_removal_policy(self.defaults.removal_policy)
        # The group's Ref is its name (lower case: the prefix and a hex digest).
        self.feature_group_arn = cdk.Fn.sub(
            "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}"
            ":feature-group/${Name}",
            {"Name": group.ref},
        )
        return group, role

    # --- the Spark job --------------------------------------------------------------------

    def _job_role(self, script: s3_assets.Asset) -> iam.Role:
        group_arn = self.feature_group_arn
        role, policy = service_role(
            self,
            "SparkJob",
            service="emr-serverless.amazonaws.com",
            description="The Spark job: read the script and the lake, write logs and records",
            statements=[
                iam.PolicyStatement(
                    sid="ReadScript",
                    actions=["s3:GetObject"],
                    resources=[script.bucket.arn_for_objects(script.s3_object_key)],
                ),
                iam.PolicyStatement(
                    sid="ReadLake",
                    actions=["s3:GetObject"],
                    resources=[self.bucket.arn_for_objects(f"{LAKE_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="ListLake",
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{LAKE_PREFIX}*"]}},
                ),
                iam.PolicyStatement(
                    sid="WriteSparkLogs",
                    actions=["s3:PutObject"],
                    resources=[self.bucket.arn_for_objects(f"{SPARK_LOGS_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="CloudWatchLogs",
                    actions=[
                        "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                    ],
                    resources=[self.spark_log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    sid="PutRecords",
                    actions=["sagemaker:PutRecord"],
                    resources=[group_arn],
                ),
                iam.PolicyStatement(
                    sid="Key",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[self.key.key_arn],
                ),
            ],
            conditions={"StringEquals": {"aws:SourceAccount": self.account}},
        )
        bucket_id = self.get_logical_id(self.bucket.node.default_child)
        acknowledge(
            policy,
            "The job reads every object of the lake prefix and writes its logs under one "
            "prefix per application and run, which EMR Serverless names.",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{LAKE_PREFIX}*]",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{SPARK_LOGS_PREFIX}*]",
        )
        self.job_policy = policy
        return role

    def _application(self, settings: FeatureStoreSparkSettings) -> emrserverless.CfnApplication:
        app = emrserverless.CfnApplication
        application = app(
            self,
            "SparkApplication",
            release_label=settings.release_label,
            type="SPARK",
            architecture="X86_64",
            auto_start_configuration=app.AutoStartConfigurationProperty(enabled=True),
            auto_stop_configuration=app.AutoStopConfigurationProperty(
                enabled=True, idle_timeout_minutes=settings.idle_timeout_minutes
            ),
            maximum_capacity=app.MaximumAllowedResourcesProperty(
                cpu=f"{settings.max_vcpu} vCPU", memory=f"{settings.max_memory_gb} GB"
            ),
            network_configuration=app.NetworkConfigurationProperty(
                subnet_ids=[subnet.subnet_id for subnet in self.network.subnets],
                security_group_ids=[self.network.workload_security_group.security_group_id],
            ),
            monitoring_configuration=app.MonitoringConfigurationProperty(
                s3_monitoring_configuration=app.S3MonitoringConfigurationProperty(
                    log_uri=self.bucket.s3_url_for_object(SPARK_LOGS_PREFIX),
                    encryption_key_arn=self.key.key_arn,
                ),
                cloud_watch_logging_configuration=app.CloudWatchLoggingConfigurationProperty(
                    enabled=True,
                    log_group_name=self.spark_log_group.log_group_name,
                    encryption_key_arn=self.key.key_arn,
                ),
                # Logs stay in the stack's bucket and log group only.
                managed_persistence_monitoring_configuration=(
                    app.ManagedPersistenceMonitoringConfigurationProperty(enabled=False)
                ),
            ),
        )
        for endpoint in self.network.endpoints.values():
            application.node.add_dependency(endpoint)
        return application

    # --- the export -----------------------------------------------------------------------

    def _workgroup(self) -> athena.CfnWorkGroup:
        retain = self.defaults.retains_data
        return athena.CfnWorkGroup(
            self,
            "Export",
            name=f"{self.node.id}-export",
            description="Exports the offline store's current records for training",
            state="ENABLED",
            recursive_delete_option=not retain,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.bucket.s3_url_for_object(ATHENA_RESULTS_PREFIX),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn
                    ),
                ),
            ),
        )

    def _declare_outputs(self, settings: FeatureStoreSparkSettings, log_group: logs.ILogGroup):
        self.output(Outputs.STATE_MACHINE_ARN, self.state_machine.state_machine_arn, "Workflow")
        self.output(Outputs.BUCKET_NAME, self.bucket.bucket_name, "Lake input, stores, models")
        self.output(
            Outputs.LAKE_URI, self.bucket.s3_url_for_object(LAKE_PREFIX), "Put orders/, customers/"
        )
        self.output(Outputs.FEATURE_GROUP_NAME, self.feature_group.ref, "The feature group")
        self.output(
            Outputs.RECORD_IDENTIFIER, settings.record_identifier, "The record identifier feature"
        )
        self.output(Outputs.APPLICATION_ID, self.application.attr_application_id, "Spark app")
        self.output(Outputs.TOPIC_ARN, self.topic.topic_arn, "Failure alerts (subscribe here)")
        self.output(Outputs.LOG_GROUP_NAME, log_group.log_group_name, "Execution history")
        self.output(Outputs.SPARK_LOG_GROUP_NAME, self.spark_log_group.log_group_name, "Job logs")
        self.output(
            Outputs.MODELS_URI, self.bucket.s3_url_for_object(MODELS_PREFIX), "Trained models"
        )
