"""Pattern ``etl-export``: a scheduled DynamoDB export to CSV that SageMaker training reads.

Notes sections "Data pipelines" (a scheduled ETL job that is highly available, retries and
notifies on failure; the notes' example exports DynamoDB to S3 as JSON and converts it to
CSV for SageMaker) and "Step functions" (retries outside the code, an auditable history).
AWS Data Pipeline is closed to new customers; its successors are EventBridge Scheduler,
Step Functions and Glue or Lambda. Resources:

- a DynamoDB table (on-demand, point-in-time recovery on, the stack's customer managed key),
- an EventBridge Scheduler schedule (its own group, weekly by default) whose execution role
  may only start the state machine,
- a state machine: ``ExportTableToPointInTime`` through the AWS SDK integration into the
  bucket's ``exports/`` prefix (SSE-KMS), then at most ``max_polls`` ``DescribeExport``
  calls ``poll_interval_seconds`` apart, then the converter Lambda; every task retries its
  transient errors with exponential backoff, anything else is published to an encrypted SNS
  topic; a conversion that met malformed lines is published too; execution history in an
  encrypted log group (level ALL) and X-Ray,
- the converter (``lambdas/dynamodb_export_to_csv``): DynamoDB JSON to one CSV with a header
  under ``training/<export id>/``, its report under ``reports/<export id>/``.

Why Lambda and not a Glue job for the conversion: an export of a small table is a few
gzip files that one function converts in seconds, billed per millisecond; a Glue Spark job
bills at least one minute of at least two DPUs per run and starts slower ("AWS Glue
pricing", https://aws.amazon.com/glue/pricing/). Lambda's limits (15 minutes, 10,240 MB,
"Lambda quotas") bound the export size; beyond them, a Glue job is the step to swap in.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from ml_refarch.aws_facts import SCHEDULER_SERVICE_PRINCIPAL
from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.python_function import Unbounded, traced_function
from ml_refarch.constructs.service_role import service_role, wildcard_finding
from ml_refarch.constructs.workflow import (
    Polling,
    audited_workflow,
    bounded_polling,
    caught,
    notify_failure,
    retried_task,
    states_resource,
)
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.etl_export.outputs import Outputs
from ml_refarch.stacks.etl_export.settings import EtlExportSettings

CONVERTER = "dynamodb_export_to_csv"

#: Where DynamoDB writes exports (it adds ``AWSDynamoDB/<export id>/``), where the CSV goes
#: (one folder per export, only CSV: a training channel reads every object under it), and
#: where each conversion's report goes.
EXPORT_PREFIX = "exports"
TRAINING_PREFIX = "training/"
REPORTS_PREFIX = "reports/"

#: DynamoDB errors worth retrying (AWS SDK integration errors are ``<Service>.<Error>``,
#: "Learning to use AWS service SDK integrations in Step Functions").
DYNAMODB_RETRYABLE = [
    "DynamoDb.LimitExceededException",
    "DynamoDb.InternalServerErrorException",
    "DynamoDb.RequestLimitExceededException",
]
#: The Lambda errors Step Functions recommends retrying ("Handle transient Lambda service
#: exceptions", https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
LAMBDA_RETRYABLE = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


class EtlExportStack(PatternStack):
    """Scheduler -> Step Functions -> DynamoDB export -> Lambda -> CSV for training.

    Attributes:
        table: the source table. bucket: exports, CSV and reports. topic: alerts.
        converter: the conversion function. state_machine: the workflow.
        schedule: the schedule that starts it (L1).
    """

    def build(self, settings: EtlExportSettings) -> None:
        self.key = self.data_key("table, exports, CSV, alerts and logs")
        self.table = self._table(settings)
        self.bucket = SecureBucket(
            self,
            "Export",
            **self.defaults.bucket_props(),
            encryption_key=self.key,
            contents="DynamoDB exports, the CSV rebuilt from them and conversion reports",
            no_replication_because=(
                "Every object here is rebuilt from the table (which has point-in-time "
                "recovery) by the next run; replication is left to the team."
            ),
        ).bucket
        self.topic = sns.Topic(
            self,
            "Alerts",
            display_name="ml-refarch DynamoDB export alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.converter = self._converter(settings)
        workflow = audited_workflow(
            self,
            "Workflow",
            definition=self._definition(settings),
            description="DynamoDB export workflow: export, poll, convert; alerts; logs",
            statements=self._workflow_statements(),
            wildcard_reason=(
                "DynamoDB names each export (table/<name>/export/<id>) and writes its files "
                "under AWSDynamoDB/<id>/ in the exports prefix, so both end in a wildcard; "
                "the converter's versions are the function's ARN with a qualifier."
            ),
            wildcard_findings=self._wildcard_findings(),
            alert_topic=self.topic,
            encryption_key=self.key,
            log_retention=self.defaults.log_retention,
            log_removal_policy=self.defaults.removal_policy,
            timeout=cdk.Duration.seconds(
                settings.polling_seconds + 4 * settings.converter_timeout_seconds + 3600
            ),
        )
        self.state_machine = workflow.state_machine
        self.schedule = self._schedule(settings)
        self._declare_outputs(settings, workflow.log_group)

    # --- the table and the converter ------------------------------------------------------

    def _table(self, settings: EtlExportSettings) -> dynamodb.Table:
        retain = self.defaults.removal_policy == cdk.RemovalPolicy.RETAIN
        table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=settings.partition_key, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            # Exports read the point-in-time recovery window: no PITR, no export.
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            # CDK retains tables by default; the sandbox removes it with the stack.
            removal_policy=self.defaults.removal_policy,
            deletion_protection=retain,
        )
        acknowledge(
            table,
            "Point-in-time recovery keeps continuous backups of the table for 35 days, and "
            "every run exports a full copy to the encrypted bucket; an AWS Backup plan "
            "would be a third copy of the same items.",
            controls.DYNAMODB_BACKUP_PLAN,
        )
        return table

    def _converter(self, settings: EtlExportSettings) -> lambda_.Function:
        return traced_function(
            self,
            "Converter",
            role_description="Export converter: read exports, write CSV and reports, its logs",
            statements=[
                iam.PolicyStatement(
                    sid="ReadExports",
                    actions=["s3:GetObject"],
                    resources=[self.bucket.arn_for_objects(f"{EXPORT_PREFIX}/*")],
                ),
                iam.PolicyStatement(
                    sid="WriteCsvAndReports",
                    actions=["s3:PutObject"],
                    resources=[
                        self.bucket.arn_for_objects(f"{TRAINING_PREFIX}*"),
                        self.bucket.arn_for_objects(f"{REPORTS_PREFIX}*"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="BucketKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[self.key.key_arn],
                ),
            ],
            wildcards_because=(
                "Each export writes its files under exports/AWSDynamoDB/<export id>/ and each "
                "conversion under training/<export id>/ and reports/<export id>/, ids DynamoDB "
                "picks per run; X-Ray's trace actions have no resource-level permissions."
            ),
            wildcards=[
                wildcard_finding(self.bucket, f"/{prefix}*")
                for prefix in (f"{EXPORT_PREFIX}/", TRAINING_PREFIX, REPORTS_PREFIX)
            ],
            handler_dir=CONVERTER,
            description="DynamoDB JSON export to one CSV with a header, for SageMaker training",
            log_group=self.log_group("ConverterLogs", self.key),
            key=self.key,
            memory_size=settings.converter_memory_mib,
            timeout=cdk.Duration.seconds(settings.converter_timeout_seconds),
            environment={
                "OUTPUT_PREFIX": TRAINING_PREFIX,
                "REPORT_PREFIX": REPORTS_PREFIX,
                "KEY_ATTRIBUTES": settings.partition_key,
            },
            unbounded=Unbounded(
                no_vpc_because=(
                    "The converter reads and writes one S3 bucket and calls nothing else; a VPC "
                    "would add network interfaces and endpoints without isolating more."
                ),
                no_concurrency_because=(
                    "Reserving concurrency fails in new accounts whose whole quota is 10; the "
                    "workflow runs one conversion per export, which bounds it already."
                ),
                no_dlq_because=(
                    "The state machine invokes the converter synchronously, retries it and "
                    "publishes any failure to the alert topic; an asynchronous DLQ would never "
                    "be used."
                ),
            ),
        )

    # --- the state machine ----------------------------------------------------------------

    def _definition(self, settings: EtlExportSettings) -> sfn.IChainable:
        """Export, poll until done (at most ``max_polls`` times), convert, report."""
        notify = notify_failure(
            self,
            topic=self.topic,
            subject="ml-refarch DynamoDB export failed",
            error="ExportWorkflowFailed",
        )
        start = caught(self._start_export(), notify)
        describe = caught(
            retried_task(
                self,
                "DescribeExport",
                states_resource("aws-sdk:dynamodb:describeExport"),
                {"Parameters": {"ExportArn.$": "$.export.arn"}, "ResultPath": "$.described"},
                DYNAMODB_RETRYABLE,
                max_attempts=3,
            ),
            notify,
        )
        convert = caught(self._convert(), notify)
        status = "$.described.ExportDescription.ExportStatus"
        done = sfn.Succeed(self, "Done")
        report = sfn.CustomState(
            self,
            "ReportMalformedLines",
            state_json={
                "Type": "Task",
                "Resource": states_resource("sns:publish"),
                "Parameters": {
                    "TopicArn": self.topic.topic_arn,
                    "Subject": "ml-refarch DynamoDB export: malformed lines",
                    "Message.$": "States.JsonToString($.conversion)",
                },
                "ResultPath": None,
            },
        )
        after_convert = (
            sfn.Choice(self, "AnyMalformedLines")
            .when(
                sfn.Condition.number_greater_than("$.conversion.malformedLines", 0),
                caught(report, notify).next(done),
            )
            .otherwise(done)
        )
        finished = (
            sfn.Choice(self, "ExportFinished")
            .when(sfn.Condition.string_equals(status, "COMPLETED"), convert.next(after_convert))
            .when(sfn.Condition.string_equals(status, "FAILED"), notify)
        )
        polling = Polling("WaitForExport", settings.poll_interval_seconds, settings.max_polls)
        return start.next(
            bounded_polling(self, polling, describe=describe, choice=finished, give_up=notify)
        )

    def _start_export(self) -> sfn.CustomState:
        return retried_task(
            self,
            "StartExport",
            states_resource("aws-sdk:dynamodb:exportTableToPointInTime"),
            {
                "Parameters": {
                    "TableArn": self.table.table_arn,
                    "S3Bucket": self.bucket.bucket_name,
                    "S3Prefix": EXPORT_PREFIX,
                    "S3SseAlgorithm": "KMS",
                    "S3SseKmsKeyId": self.key.key_arn,
                    "ExportFormat": "DYNAMODB_JSON",
                    "ExportType": "FULL_EXPORT",
                },
                "ResultSelector": {"arn.$": "$.ExportDescription.ExportArn"},
                "ResultPath": "$.export",
            },
            DYNAMODB_RETRYABLE,
            max_attempts=3,
        )

    def _convert(self) -> sfn.CustomState:
        return retried_task(
            self,
            "ConvertToCsv",
            states_resource("lambda:invoke"),
            {
                "Parameters": {
                    "FunctionName": self.converter.function_arn,
                    "Payload": {
                        "bucket": self.bucket.bucket_name,
                        "manifestSummaryKey.$": "$.described.ExportDescription.ExportManifest",
                        "exportArn.$": "$.export.arn",
                        "exportPrefix": EXPORT_PREFIX,
                    },
                },
                "ResultSelector": {
                    "rows.$": "$.Payload.rows",
                    "malformedLines.$": "$.Payload.malformedLines",
                    "csvUri.$": "$.Payload.csvUri",
                    "reportUri.$": "$.Payload.reportUri",
                },
                "ResultPath": "$.conversion",
            },
            LAMBDA_RETRYABLE,
            max_attempts=3,
        )

    def _workflow_statements(self) -> list[iam.PolicyStatement]:
        """What the states call; the export's S3 and KMS needs are the caller's."""
        table_arn = self.table.table_arn
        return [
            iam.PolicyStatement(
                sid="Export",
                actions=["dynamodb:ExportTableToPointInTime"],
                resources=[table_arn],
            ),
            iam.PolicyStatement(
                sid="DescribeExport",
                actions=["dynamodb:DescribeExport"],
                resources=[f"{table_arn}/export/*"],
            ),
            # "Requesting a table export in DynamoDB": the caller may write the bucket.
            iam.PolicyStatement(
                sid="ExportWrites",
                actions=["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"],
                resources=[self.bucket.arn_for_objects(f"{EXPORT_PREFIX}/*")],
            ),
            # SSE-KMS with the stack's key: the writer needs a data key (and Decrypt for
            # the parts of a multipart upload).
            iam.PolicyStatement(
                sid="ExportKey",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[self.key.key_arn],
            ),
            iam.PolicyStatement(
                sid="Convert",
                actions=["lambda:InvokeFunction"],
                resources=[self.converter.function_arn, f"{self.converter.function_arn}:*"],
            ),
        ]

    def _wildcard_findings(self) -> list[str]:
        return [
            wildcard_finding(self.table, "/export/*"),
            wildcard_finding(self.bucket, f"/{EXPORT_PREFIX}/*"),
            wildcard_finding(self.converter, ":*"),
        ]

    # --- the schedule ---------------------------------------------------------------------

    def _schedule(self, settings: EtlExportSettings) -> scheduler.CfnSchedule:
        """Starts the workflow; its role may start exactly this state machine."""
        group = scheduler.CfnScheduleGroup(self, "ExportScheduleGroup")
        role, _ = service_role(
            self,
            "ExportSchedule",
            service=SCHEDULER_SERVICE_PRINCIPAL,
            description="EventBridge Scheduler starts the DynamoDB export workflow",
            statements=[
                iam.PolicyStatement(
                    actions=["states:StartExecution"],
                    resources=[self.state_machine.state_machine_arn],
                )
            ],
            # Confused-deputy protection: only schedules of this group, in this account.
            conditions={
                "StringEquals": {"aws:SourceAccount": self.account, "aws:SourceArn": group.attr_arn}
            },
        )
        return scheduler.CfnSchedule(
            self,
            "ExportSchedule",
            description="Starts the DynamoDB export to CSV",
            group_name=group.ref,
            schedule_expression=settings.schedule_expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn,
                role_arn=role.role_arn,
                input=json.dumps({"startedBy": "schedule"}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
                ),
            ),
        )

    def _declare_outputs(self, settings: EtlExportSettings, log_group: logs.ILogGroup) -> None:
        self.output(Outputs.TABLE_NAME, self.table.table_name, "Source table (put items here)")
        self.output(Outputs.STATE_MACHINE_ARN, self.state_machine.state_machine_arn, "Workflow")
        self.output(Outputs.BUCKET_NAME, self.bucket.bucket_name, "Exports, CSV and reports")
        self.output(
            Outputs.TRAINING_URI,
            self.bucket.s3_url_for_object(TRAINING_PREFIX),
            "CSV for SageMaker training, one folder per export",
        )
        self.output(
            Outputs.REPORTS_URI,
            self.bucket.s3_url_for_object(REPORTS_PREFIX),
            "Conversion reports (rows, malformed lines)",
        )
        self.output(Outputs.TOPIC_ARN, self.topic.topic_arn, "Alerts (subscribe here)")
        self.output(Outputs.LOG_GROUP_NAME, log_group.log_group_name, "Execution history")
        self.output(
            Outputs.SCHEDULE_EXPRESSION, settings.schedule_expression, "When the export runs (UTC)"
        )
