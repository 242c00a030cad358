"""Pattern ``document-ai``: Textract forms and tables on upload, with human review.

Notes section "Other AI services": Textract reads text, forms (key-value pairs) and tables;
Augmented AI (A2I) sends its low-confidence results to people for review. A2I is closed to
new customers ("Amazon SageMaker A2I is no longer open to new customers",
https://docs.aws.amazon.com/sagemaker/latest/dg/a2i-api-references.html), so the review
queue here is one the account owns. Resources:

- a bucket with the stack's key whose object events go to EventBridge; an upload under
  ``incoming/`` matches a rule that starts the state machine (retries, then a dead-letter
  queue with an alarm),
- a state machine: ``StartDocumentAnalysis`` (``FORMS`` and ``TABLES``) through the AWS SDK
  integration, then at most ``max_polls`` ``GetDocumentAnalysis`` status calls
  ``poll_interval_seconds`` apart, then the parser Lambda; retries on throttling, failures
  to an encrypted SNS topic, execution history in an encrypted log group and X-Ray,
- the parser (``lambdas/textract_results``): every page of results to key-value pairs and
  tables under ``results/<document key>/`` (JSON and CSV); a document with a field below
  ``confidence_threshold`` gets an item in the review table (on-demand, point-in-time
  recovery, the stack's key) and a message in the review queue (the stack's key, a
  dead-letter queue); reviewers answer with ``python -m
  ml_refarch.stacks.document_ai.review``, which writes the answers back to the results.

Why polling and not Textract's SNS completion channel: the SNS message names the job and its
status ("Amazon Textract Results Notification",
https://docs.aws.amazon.com/textract/latest/dg/async-notification-payload.html), so resuming
the waiting workflow would need a topic, a role Textract assumes to publish, a subscriber and
a store from job id to task token; ``GetDocumentAnalysis`` reports ``JobStatus`` to the
workflow itself
(https://docs.aws.amazon.com/textract/latest/APIReference/API_GetDocumentAnalysis.html), and
a bounded loop of Wait states costs a few state transitions per document.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.dead_letters import alarmed_dead_letters
from ml_refarch.constructs.model_endpoint import AlertTopic
from ml_refarch.constructs.python_function import Unbounded, traced_function
from ml_refarch.constructs.service_role import wildcard_finding
from ml_refarch.constructs.workflow import (
    Polling,
    audited_workflow,
    bounded_polling,
    caught,
    notify_failure,
    retried_task,
    starter_role,
    states_resource,
)
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.document_ai.outputs import Outputs
from ml_refarch.stacks.document_ai.settings import DocumentAiSettings

PARSER = "textract_results"

#: Uploads to analyse, and where each document's results go.
INCOMING_PREFIX = "incoming/"
RESULTS_PREFIX = "results/"
#: What Textract looks for ("Form Data (Key-Value Pairs)", "Tables").
FEATURE_TYPES = ["FORMS", "TABLES"]
#: The review table's key: the uploaded document's key.
REVIEW_KEY = "documentId"

#: Textract errors worth retrying (SDK integration errors are ``<Service>.<Error>``; the
#: throttling and limit errors of StartDocumentAnalysis and GetDocumentAnalysis, API
#: reference "Errors" sections).
TEXTRACT_RETRYABLE = [
    "Textract.ThrottlingException",
    "Textract.ProvisionedThroughputExceededException",
    "Textract.LimitExceededException",
    "Textract.InternalServerErrorException",
]
#: The Lambda errors Step Functions recommends retrying ("Handle transient Lambda service
#: exceptions", https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
LAMBDA_RETRYABLE = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


class DocumentAiStack(PatternStack):
    """S3 upload -> EventBridge -> Step Functions -> Textract -> parser -> review queue.

    Attributes:
        bucket: uploads and results. review_table / review_queue: documents to review.
        parser: the results function. state_machine: the workflow. topic: alerts.
    """

    def build(self, settings: DocumentAiSettings) -> None:
        self.key = self.data_key("documents, results, review table and queue, alerts, logs")
        self.bucket = SecureBucket(
            self,
            "Documents",
            **self.defaults.bucket_props(),
            encryption_key=self.key,
            contents="uploaded documents and the key-value pairs and tables read from them",
            event_bridge=True,
            no_replication_because=(
                "The documents are uploaded copies whose originals stay with their owners, "
                "and every result is rebuilt by uploading the document again; replication "
                "is left to the team."
            ),
        ).bucket
        # CloudWatch publishes the dead-letter alarm to the encrypted topic.
        self.topic = AlertTopic(
            self,
            "Alerts",
            encryption_key=self.key,
            display_name="ml-refarch document analysis alerts",
        ).topic
        self.review_table = self._review_table()
        self.review_queue = self._review_queue()
        self.parser = self._parser(settings)
        workflow = audited_workflow(
            self,
            "Workflow",
            definition=self._definition(settings),
            description="Document analysis workflow: Textract, poll, parse; alerts; logs",
            statements=self._workflow_statements(),
            wildcard_reason=(
                "Textract reads each document under incoming/ with the workflow's "
                "permissions, and any name may be uploaded there; the parser's versions are "
                "its ARN with a qualifier."
            ),
            wildcard_findings=[
                wildcard_finding(self.bucket, f"/{INCOMING_PREFIX}*"),
                wildcard_finding(self.parser, ":*"),
            ],
            alert_topic=self.topic,
            encryption_key=self.key,
            log_retention=self.defaults.log_retention,
            log_removal_policy=self.defaults.removal_policy,
            timeout=cdk.Duration.seconds(
                settings.polling_seconds + 4 * settings.parser_timeout_seconds + 3600
            ),
        )
        self.state_machine = workflow.state_machine
        self._upload_rule()
        self._declare_outputs(settings, workflow.log_group)

    # --- review table and queue -----------------------------------------------------------

    def _review_table(self) -> dynamodb.Table:
        retain = self.defaults.removal_policy == cdk.RemovalPolicy.RETAIN
        table = dynamodb.Table(
            self,
            "ReviewTable",
            partition_key=dynamodb.Attribute(name=REVIEW_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
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
            "Point-in-time recovery keeps continuous backups of the review items for 35 "
            "days, and each item only points at results kept in the bucket; an AWS Backup "
            "plan would be a second copy of the same items.",
            controls.DYNAMODB_BACKUP_PLAN,
        )
        return table

    def _review_queue(self) -> sqs.Queue:
        dead_letters = alarmed_dead_letters(
            self,
            "ReviewDeadLetters",
            key=self.key,
            topic=self.topic,
            no_redrive_because=(
                "This queue is the dead-letter queue of the review queue and of the upload "
                "rule's target; a queue behind it would only move the same messages."
            ),
            no_redrive_rules=["Serverless-SQSRedrivePolicy", "ControlTower-sqs_dlq_check"],
            alarm_id="DeadLettersAlarm",
            alarm_description="A review message or an upload event was not handled",
            removal_policy=self.defaults.removal_policy,
        )
        self.dead_letters = dead_letters
        return sqs.Queue(
            self,
            "ReviewQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            visibility_timeout=cdk.Duration.minutes(15),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=dead_letters),
            removal_policy=self.defaults.removal_policy,
        )

    # --- the parser -----------------------------------------------------------------------

    def _parser(self, settings: DocumentAiSettings) -> lambda_.Function:
        return traced_function(
            self,
            "Parser",
            role_description=(
                "Textract results parser: read results, write JSON/CSV, queue reviews"
            ),
            statements=[
                iam.PolicyStatement(
                    sid="ReadAnalysis",
                    actions=["textract:GetDocumentAnalysis"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="WriteResults",
                    actions=["s3:PutObject"],
                    resources=[self.bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="Key",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[self.key.key_arn],
                ),
                iam.PolicyStatement(
                    sid="Review",
                    actions=["dynamodb:PutItem"],
                    resources=[self.review_table.table_arn],
                ),
                iam.PolicyStatement(
                    sid="ReviewQueue",
                    actions=["sqs:SendMessage"],
                    resources=[self.review_queue.queue_arn],
                ),
            ],
            wildcards_because=(
                "Each document's results go under results/<document key>/, a key the uploader "
                "picks; Textract's GetDocumentAnalysis and X-Ray's trace actions have no "
                "resource-level permissions (Textract's jobs have no ARNs)."
            ),
            wildcards=[wildcard_finding(self.bucket, f"/{RESULTS_PREFIX}*")],
            handler_dir=PARSER,
            description="Textract analysis to key-value pairs and tables (JSON, CSV); reviews",
            log_group=self.log_group("ParserLogs", self.key),
            key=self.key,
            memory_size=settings.parser_memory_mib,
            timeout=cdk.Duration.seconds(settings.parser_timeout_seconds),
            environment={
                "RESULTS_PREFIX": RESULTS_PREFIX,
                "CONFIDENCE_THRESHOLD": f"{settings.confidence_threshold:g}",
                "REVIEW_TABLE": self.review_table.table_name,
                "REVIEW_QUEUE_URL": self.review_queue.queue_url,
            },
            unbounded=Unbounded(
                no_vpc_because=(
                    "The parser calls Textract, S3, DynamoDB and SQS and nothing in a network of "
                    "the account; a VPC would add interfaces and endpoints without isolating more."
                ),
                no_concurrency_because=(
                    "Reserving concurrency fails in new accounts whose whole quota is 10; one "
                    "workflow run per upload invokes it once."
                ),
                no_dlq_because=(
                    "The state machine invokes the parser synchronously, retries it and publishes "
                    "any failure to the alert topic; an asynchronous DLQ would never be used."
                ),
            ),
        )

    # --- the state machine ----------------------------------------------------------------

    def _definition(self, settings: DocumentAiSettings) -> sfn.IChainable:
        """Start the analysis, poll until done (at most ``max_polls`` times), parse."""
        notify = notify_failure(
            self,
            topic=self.topic,
            subject="ml-refarch document analysis failed",
            error="DocumentAnalysisFailed",
        )
        start = caught(
            retried_task(
                self,
                "StartAnalysis",
                states_resource("aws-sdk:textract:startDocumentAnalysis"),
                {
                    "Parameters": {
                        "DocumentLocation": {
                            "S3Object": {
                                "Bucket": self.bucket.bucket_name,
                                "Name.$": "$.documentKey",
                            }
                        },
                        "FeatureTypes": FEATURE_TYPES,
                    },
                    "ResultSelector": {"jobId.$": "$.JobId"},
                    "ResultPath": "$.analysis",
                },
                TEXTRACT_RETRYABLE,
            ),
            notify,
        )
        status = caught(
            retried_task(
                self,
                "GetAnalysisStatus",
                states_resource("aws-sdk:textract:getDocumentAnalysis"),
                {
                    # One block is enough to read the job's status.
                    "Parameters": {"JobId.$": "$.analysis.jobId", "MaxResults": 1},
                    "ResultSelector": {"jobStatus.$": "$.JobStatus"},
                    "ResultPath": "$.status",
                },
                TEXTRACT_RETRYABLE,
            ),
            notify,
        )
        parse = caught(self._parse(), notify)
        job_status = "$.status.jobStatus"
        finished = (
            sfn.Choice(self, "AnalysisFinished")
            .when(
                sfn.Condition.or_(
                    sfn.Condition.string_equals(job_status, "SUCCEEDED"),
                    sfn.Condition.string_equals(job_status, "PARTIAL_SUCCESS"),
                ),
                parse.next(sfn.Succeed(self, "Done")),
            )
            .when(sfn.Condition.string_equals(job_status, "FAILED"), notify)
        )
        polling = Polling("WaitForAnalysis", settings.poll_interval_seconds, settings.max_polls)
        return start.next(
            bounded_polling(self, polling, describe=status, choice=finished, give_up=notify)
        )

    def _parse(self) -> sfn.CustomState:
        """Invoke the parser on the finished analysis."""
        return retried_task(
            self,
            "ParseResults",
            states_resource("lambda:invoke"),
            {
                "Parameters": {
                    "FunctionName": self.parser.function_arn,
                    "Payload": {
                        "jobId.$": "$.analysis.jobId",
                        "bucket.$": "$.bucket",
                        "documentKey.$": "$.documentKey",
                    },
                },
                "ResultSelector": {
                    "resultsUri.$": "$.Payload.resultsUri",
                    "keyValues.$": "$.Payload.keyValues",
                    "tables.$": "$.Payload.tables",
                    "lowConfidenceFields.$": "$.Payload.lowConfidenceFields",
                },
                "ResultPath": "$.results",
            },
            LAMBDA_RETRYABLE,
        )

    def _workflow_statements(self) -> list[iam.PolicyStatement]:
        """What the states call, and the reads Textract makes with the workflow's rights."""
        return [
            # "How Amazon Textract Works with IAM": asynchronous operations need the Start
            # and the Get action, and read access to the bucket that passes the documents.
            iam.PolicyStatement(
                sid="Analyse",
                actions=["textract:StartDocumentAnalysis", "textract:GetDocumentAnalysis"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="ReadDocuments",
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{INCOMING_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="DocumentsKey", actions=["kms:Decrypt"], resources=[self.key.key_arn]
            ),
            iam.PolicyStatement(
                sid="Parse",
                actions=["lambda:InvokeFunction"],
                resources=[self.parser.function_arn, f"{self.parser.function_arn}:*"],
            ),
        ]

    # --- the upload rule ------------------------------------------------------------------

    def _upload_rule(self) -> events.Rule:
        starter = starter_role(
            self,
            "UploadStarter",
            description="The upload rule starts the document analysis workflow",
            sid="StartAnalysis",
            state_machine=self.state_machine,
        )
        return events.Rule(
            self,
            "OnUpload",
            description="Analyse each document uploaded under incoming/",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self.bucket.bucket_name]},
                    "object": {"key": [{"prefix": INCOMING_PREFIX}]},
                },
            ),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    input=events.RuleTargetInput.from_object(
                        {
                            "bucket": events.EventField.from_path("$.detail.bucket.name"),
                            "documentKey": events.EventField.from_path("$.detail.object.key"),
                        }
                    ),
                    role=starter.without_policy_updates(),
                    retry_attempts=8,
                    max_event_age=cdk.Duration.hours(2),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )

    def _declare_outputs(self, settings: DocumentAiSettings, log_group: logs.ILogGroup) -> None:
        self.output(Outputs.BUCKET_NAME, self.bucket.bucket_name, "Documents and results")
        self.output(
            Outputs.UPLOAD_URI,
            self.bucket.s3_url_for_object(INCOMING_PREFIX),
            "Upload PDF, PNG, JPEG or TIFF documents here",
        )
        self.output(
            Outputs.RESULTS_URI,
            self.bucket.s3_url_for_object(RESULTS_PREFIX),
            "Key-value pairs and tables, JSON and CSV, one folder per document",
        )
        self.output(Outputs.STATE_MACHINE_ARN, self.state_machine.state_machine_arn, "Workflow")
        self.output(Outputs.REVIEW_TABLE_NAME, self.review_table.table_name, "Review items")
        self.output(Outputs.REVIEW_QUEUE_URL, self.review_queue.queue_url, "Review messages")
        self.output(Outputs.TOPIC_ARN, self.topic.topic_arn, "Alerts (subscribe here)")
        self.output(Outputs.LOG_GROUP_NAME, log_group.log_group_name, "Execution history")
        self.output(
            Outputs.CONFIDENCE_THRESHOLD,
            f"{settings.confidence_threshold:g}",
            "Fields below this confidence (0-100) go to review",
        )
