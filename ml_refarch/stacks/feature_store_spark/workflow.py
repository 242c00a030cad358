"""The ``feature-store-spark`` state machine: Spark job, offline store export, training.

- **RunFeatureJob**: the optimized integration ``emr-serverless:startJobRun.sync`` starts
  the PySpark job on the application and waits for it to end ("Create and manage Amazon
  EMR Serverless applications with Step Functions",
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-emr-serverless.html: the
  optimized integration supports the Run a Job pattern), so no polling loop is needed. Its
  role needs ``StartJobRun`` on the application, ``GetJobRun`` and ``CancelJobRun`` on its
  job runs, the managed rule ``StepFunctionsGetEventsForEMRServerlessJobRule`` and
  ``iam:PassRole`` of the job role to ``emr-serverless.amazonaws.com`` ("IAM policies for
  Amazon EMR Serverless",
  https://docs.aws.amazon.com/step-functions/latest/dg/emr-serverless-iam.html).
- **WaitForOfflineStore**: PutRecord data reaches the offline store within 15 minutes
  ("Amazon SageMaker Feature Store offline store data format",
  https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-offline.html).
- **DescribeFeatureGroup** (SDK integration) finds the offline store's Glue table, which
  Feature Store names when it creates the group.
- **ExportTrainingSet**: ``athena:startQueryExecution.sync`` runs an ``UNLOAD`` of the
  current record of every identifier (the latest event time, deleted records left out) as
  CSV, label first, under ``training/<run>/``. Why Athena and not the offline store's S3
  prefix: an Iceberg table is its metadata plus data files, and the files under the prefix
  hold every write (each PutRecord appends a row, a compaction rewrites files); only a
  reader of the table's current snapshot sees each record once ("Offline store",
  https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-storage-configurations-offline-store.html),
  and the built-in algorithm needs plain numeric CSV, which UNLOAD writes
  (https://docs.aws.amazon.com/athena/latest/ug/unload.html).
- **Train**: ``sagemaker:createTrainingJob.sync``, built-in XGBoost on that CSV, network
  isolated in the VPC, volume and model encrypted with the key.

Every task retries its integration's transient errors with backoff and sends any other
failure to the alert topic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn

from ml_refarch.constructs.images import XGBOOST_FRAMEWORK, XGBOOST_VERSION, framework_image_uri
from ml_refarch.constructs.workflow import (
    AuditedWorkflow,
    audited_workflow,
    caught,
    notify_failure,
    retried,
    states_resource,
    sync_job_events,
    sync_training_job,
)
from ml_refarch.stacks.base import PATTERN_TAG
from ml_refarch.stacks.feature_store_spark.job.prepare_features import FEATURES, LABEL
from ml_refarch.stacks.feature_store_spark.settings import FeatureStoreSparkSettings
from ml_refarch.training.requests import training_job_request
from ml_refarch.training.spec import S3Input, TrainingJobSpec

if TYPE_CHECKING:
    from ml_refarch.stacks.feature_store_spark.stack import FeatureStoreSparkStack

#: Step Functions names an integration's errors ``<Service>.<Exception>``; these are the
#: throttling and server faults of each API (EMR Serverless ``InternalServerException``,
#: Athena ``TooManyRequestsException`` and ``InternalServerException``, SageMaker's own).
EMR_RETRYABLE = ["EMRServerless.InternalServerException"]
ATHENA_RETRYABLE = ["Athena.TooManyRequestsException", "Athena.InternalServerException"]
SAGEMAKER_RETRYABLE = ["SageMaker.AmazonSageMakerException", "SageMaker.ThrottlingException"]
EMR_SERVERLESS_SERVICE = "emr-serverless.amazonaws.com"
#: The managed rule the ``.sync`` integration uses to learn that a job run ended.
EMR_SYNC_RULE = "StepFunctionsGetEventsForEMRServerlessJobRule"
#: XGBoost's hyperparameters for the 0/1 label (built-in algorithm).
HYPERPARAMETERS = {"objective": "binary:logistic", "num_round": "50", "max_depth": "3"}


def export_query(stack: FeatureStoreSparkStack, settings: FeatureStoreSparkSettings) -> str:
    """The ``States.Format`` template of the UNLOAD: arguments database, table, run id."""
    columns = [LABEL] + [name for name, _ in FEATURES if name != LABEL]
    identifier, event_time = settings.record_identifier, settings.event_time_feature
    target = stack.bucket.s3_url_for_object("training/")
    return (
        f"UNLOAD (SELECT {', '.join(columns)} FROM (SELECT *, row_number() OVER "
        f"(PARTITION BY {identifier} ORDER BY {event_time} DESC, api_invocation_time DESC) "
        'AS row_rank FROM "{}"."{}") WHERE row_rank = 1 AND NOT is_deleted) '
        f"TO \\'{target}{{}}/\\' WITH (format = \\'TEXTFILE\\', field_delimiter = \\',\\', "
        "compression = \\'NONE\\')"
    )


def build(
    stack: FeatureStoreSparkStack, settings: FeatureStoreSparkSettings, script: s3_assets.Asset
) -> AuditedWorkflow:
    notify = notify_failure(
        stack, topic=stack.topic, subject="ml-refarch feature workflow failed", error="Failed"
    )
    name_the_run = sfn.Pass(
        stack,
        "NameTheRun",
        parameters={"id.$": "States.UUID()", "eventTime.$": "$$.Execution.StartTime"},
        result_path="$.run",
    )
    run_job = caught(retried(_run_job(stack, settings, script), errors=EMR_RETRYABLE), notify)
    wait = sfn.Wait(
        stack,
        "WaitForOfflineStore",
        time=sfn.WaitTime.duration(cdk.Duration.minutes(settings.offline_store_wait_minutes)),
    )
    describe = caught(retried(_describe(stack), errors=SAGEMAKER_RETRYABLE), notify)
    export = caught(retried(_export(stack, settings), errors=ATHENA_RETRYABLE), notify)
    train = caught(retried(_train(stack, settings), errors=SAGEMAKER_RETRYABLE), notify)
    definition = (
        name_the_run.next(run_job)
        .next(wait)
        .next(describe)
        .next(export)
        .next(train)
        .next(sfn.Succeed(stack, "Done"))
    )
    return audited_workflow(
        stack,
        "Workflow",
        definition=definition,
        description="Feature workflow: Spark job, offline store export, training; alerts",
        statements=_statements(stack),
        wildcard_reason=(
            "EMR Serverless names each job run, Athena writes each run's export and "
            "results under names it picks, Feature Store names the offline store's Glue "
            "table, and every run names its own training job, so these end in wildcards."
        ),
        wildcard_findings=_wildcard_findings(stack),
        alert_topic=stack.topic,
        encryption_key=stack.key,
        log_retention=stack.defaults.log_retention,
        log_removal_policy=stack.defaults.removal_policy,
        timeout=cdk.Duration.minutes(
            settings.job_timeout_minutes + settings.offline_store_wait_minutes + 4 * 60
        ),
    )


def _task(stack: Any, state_id: str, action: str, state: dict[str, Any]) -> sfn.CustomState:
    return sfn.CustomState(
        stack,
        state_id,
        state_json={"Type": "Task", "Resource": states_resource(action), **state},
    )


def spark_submit_parameters(settings: FeatureStoreSparkSettings) -> str:
    """Driver and executors of the worker size; as many executors as the capacity holds
    beside the driver."""
    executors = (
        min(
            settings.max_vcpu // settings.worker_vcpu,
            settings.max_memory_gb // settings.worker_memory_gb,
        )
        - 1
    )
    # Spark asks for memory plus a 10% overhead: leave it room in the worker.
    memory = f"{max(1, int(settings.worker_memory_gb * 0.8))}g"
    return " ".join(
        [
            f"--conf spark.driver.cores={settings.worker_vcpu}",
            f"--conf spark.driver.memory={memory}",
            f"--conf spark.executor.cores={settings.worker_vcpu}",
            f"--conf spark.executor.memory={memory}",
            "--conf spark.dynamicAllocation.enabled=true",
            f"--conf spark.dynamicAllocation.maxExecutors={max(1, executors)}",
        ]
    )


def _run_job(
    stack: FeatureStoreSparkStack, settings: FeatureStoreSparkSettings, script: s3_assets.Asset
) -> sfn.CustomState:
    arguments = [
        "'--input'",
        f"'{stack.bucket.s3_url_for_object('lake/')}'",
        "'--feature-group'",
        f"'{stack.feature_group.ref}'",
        "'--event-time'",
        "$.run.eventTime",
        "'--record-identifier'",
        f"'{settings.record_identifier}'",
        "'--event-time-feature'",
        f"'{settings.event_time_feature}'",
        "'--region'",
        f"'{stack.region}'",
    ]
    return _task(
        stack,
        "RunFeatureJob",
        "emr-serverless:startJobRun.sync",
        {
            "Parameters": {
                "ApplicationId": stack.application.attr_application_id,
                "ExecutionRoleArn": stack.job_role.role_arn,
                "Name.$": "States.Format('features-{}', $.run.id)",
                "ExecutionTimeoutMinutes": settings.job_timeout_minutes,
                "JobDriver": {
                    "SparkSubmit": {
                        "EntryPoint": script.s3_object_url,
                        "EntryPointArguments.$": f"States.Array({', '.join(arguments)})",
                        "SparkSubmitParameters": spark_submit_parameters(settings),
                    }
                },
            },
            "ResultPath": "$.job",
        },
    )


def _describe(stack: FeatureStoreSparkStack) -> sfn.CustomState:
    return _task(
        stack,
        "DescribeFeatureGroup",
        "aws-sdk:sagemaker:describeFeatureGroup",
        {
            "Parameters": {"FeatureGroupName": stack.feature_group.ref},
            "ResultSelector": {
                "database.$": "$.OfflineStoreConfig.DataCatalogConfig.Database",
                "table.$": "$.OfflineStoreConfig.DataCatalogConfig.TableName",
            },
            "ResultPath": "$.offlineStore",
        },
    )


def _export(stack: FeatureStoreSparkStack, settings: FeatureStoreSparkSettings) -> sfn.CustomState:
    template = export_query(stack, settings)
    return _task(
        stack,
        "ExportTrainingSet",
        "athena:startQueryExecution.sync",
        {
            "Parameters": {
                "QueryString.$": (
                    f"States.Format('{template}', $.offlineStore.database, "
                    "$.offlineStore.table, $.run.id)"
                ),
                "WorkGroup": stack.workgroup.ref,
            },
            "ResultSelector": {"queryId.$": "$.QueryExecution.QueryExecutionId"},
            "ResultPath": "$.export",
        },
    )


def training_spec(stack: FeatureStoreSparkStack, settings: FeatureStoreSparkSettings):
    return TrainingJobSpec(
        role_arn=stack.training_role.role_arn,
        image_uri=framework_image_uri(
            stack, framework=XGBOOST_FRAMEWORK, version=XGBOOST_VERSION, image_scope="inference"
        ),
        output_s3_uri=stack.bucket.s3_url_for_object("models/"),
        kms_key_id=stack.key.key_arn,
        train_input=S3Input(stack.bucket.s3_url_for_object("training/")),
        instance_type=settings.training_instance_type,
        use_spot=False,
        max_wait_seconds=None,
        subnet_ids=tuple(subnet.subnet_id for subnet in stack.network.subnets),
        security_group_ids=(stack.network.workload_security_group.security_group_id,),
        network_isolation=True,
        hyperparameters=HYPERPARAMETERS,
        metric_definitions={},
        tags={PATTERN_TAG: stack.pattern_id},
    )


def _train(stack: FeatureStoreSparkStack, settings: FeatureStoreSparkSettings) -> sfn.CustomState:
    request = training_job_request(training_spec(stack, settings), "named-per-run")
    del request["TrainingJobName"]
    source = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    prefix = source.pop("S3Uri")
    source["S3Uri.$"] = f"States.Format('{prefix}{{}}/', $.run.id)"
    return _task(
        stack,
        "Train",
        "sagemaker:createTrainingJob.sync",
        {
            "Parameters": {
                "TrainingJobName.$": "States.Format('features-{}', $.run.id)",
                **request,
            },
            "ResultSelector": {"artifacts.$": "$.ModelArtifacts.S3ModelArtifacts"},
            "ResultPath": "$.trained",
        },
    )


def _statements(stack: FeatureStoreSparkStack) -> list[iam.PolicyStatement]:
    """The state machine's policy: the job run, the export, the training job."""
    return [*_job_run_statements(stack), *_export_statements(stack), *_train_statements(stack)]


def _job_run_statements(stack: FeatureStoreSparkStack) -> list[iam.PolicyStatement]:
    application = stack.application.attr_arn
    rules = f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule"
    return [
        iam.PolicyStatement(
            sid="StartJobRun", actions=["emr-serverless:StartJobRun"], resources=[application]
        ),
        iam.PolicyStatement(
            sid="WatchJobRun",
            actions=["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
            resources=[f"{application}/jobruns/*"],
        ),
        iam.PolicyStatement(
            sid="SyncJobRunEvents",
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources=[f"{rules}/{EMR_SYNC_RULE}"],
        ),
        iam.PolicyStatement(
            sid="PassJobRole",
            actions=["iam:PassRole"],
            resources=[stack.job_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": EMR_SERVERLESS_SERVICE}},
        ),
    ]


def _export_statements(stack: FeatureStoreSparkStack) -> list[iam.PolicyStatement]:
    glue = f"arn:{stack.partition}:glue:{stack.region}:{stack.account}"
    group_arn = stack.feature_group_arn
    athena_arn = f"arn:{stack.partition}:athena:{stack.region}:{stack.account}"
    return [
        iam.PolicyStatement(
            sid="DescribeFeatureGroup",
            actions=["sagemaker:DescribeFeatureGroup"],
            resources=[group_arn],
        ),
        iam.PolicyStatement(
            sid="Export",
            actions=[
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:StopQueryExecution",
            ],
            resources=[f"{athena_arn}:workgroup/{stack.workgroup.ref}"],
        ),
        iam.PolicyStatement(
            sid="DataCatalog",
            actions=["athena:GetDataCatalog"],
            resources=[f"{athena_arn}:datacatalog/AwsDataCatalog"],
        ),
        # Athena reads the table with the caller's permissions.
        iam.PolicyStatement(
            sid="ReadOfflineStoreTable",
            actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
            resources=[
                f"{glue}:catalog",
                f"{glue}:database/sagemaker_featurestore",
                f"{glue}:table/sagemaker_featurestore/*",
            ],
        ),
        iam.PolicyStatement(
            sid="ReadOfflineStore",
            actions=["s3:GetObject"],
            resources=[stack.bucket.arn_for_objects("offline-store/*")],
        ),
        iam.PolicyStatement(
            sid="ListBucket",
            actions=["s3:ListBucket", "s3:GetBucketLocation"],
            resources=[stack.bucket.bucket_arn],
        ),
        iam.PolicyStatement(
            sid="WriteExportAndResults",
            actions=[
                "s3:PutObject",
                "s3:GetObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            resources=[
                stack.bucket.arn_for_objects("training/*"),
                stack.bucket.arn_for_objects("athena-results/*"),
            ],
        ),
    ]


def _train_statements(stack: FeatureStoreSparkStack) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="DataKey",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[stack.key.key_arn],
        ),
        sync_training_job(stack.arn_prefix("sagemaker")),
        sync_job_events(stack, "training"),
        iam.PolicyStatement(
            sid="PassTrainingRole",
            actions=["iam:PassRole"],
            resources=[stack.training_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]


def _wildcard_findings(stack: FeatureStoreSparkStack) -> list[str]:
    application = stack.get_logical_id(stack.application)
    bucket = stack.get_logical_id(stack.bucket.node.default_child)
    account = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:{}"
    return [
        f"AwsSolutions-IAM5[Resource::<{application}.Arn>/jobruns/*]",
        "AwsSolutions-IAM5[Resource::"
        + account.format("glue", "table/sagemaker_featurestore/*")
        + "]",
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/offline-store/*]",
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/training/*]",
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/athena-results/*]",
        "AwsSolutions-IAM5[Resource::" + account.format("sagemaker", "training-job/*") + "]",
    ]
