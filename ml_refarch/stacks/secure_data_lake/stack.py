"""Pattern ``secure-data-lake``: a tiered, encrypted data lake that redacts PII on the way in.

Notes section "S3": storage classes, lifecycle rules and S3 Storage Class Analysis (which
analyses only Standard and Standard-IA objects and suggests when to move them), bucket
encryption with KMS and bucket policies that refuse plain HTTP. Resources:

- three buckets (raw, curated, analytics), each with the stack's customer-managed key, an S3
  bucket key, public access blocked and an SSL-only policy (:class:`SecureBucket`);
- on raw and curated, a Storage Class Analysis configuration exporting a daily CSV report
  to the analytics bucket's ``reports/`` prefix
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/analytics-storage-class.html), and
  lifecycle rules to Standard-IA (curated optionally to Intelligent-Tiering) at the ages in
  the settings;
- a Glue Spark job (:mod:`.job.redact_pii`, uploaded as an asset) that finds PII in raw CSV
  with Glue's sensitive data detection (column and cell level), writes redacted Parquet to
  curated, under a Glue security
  configuration that encrypts its S3 output, CloudWatch logs and job bookmarks with the key;
- a Glue database and table describing the curated Parquet.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.digest_name import stack_digest_name
from ml_refarch.constructs.glue_catalog import glue_database, parquet_table
from ml_refarch.constructs.log_group_cleanup import LogGroupCleanup
from ml_refarch.constructs.service_role import service_role
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.secure_data_lake.outputs import Outputs
from ml_refarch.stacks.secure_data_lake.settings import SecureDataLakeSettings

JOB_SCRIPT = Path(__file__).resolve().parent / "job" / "redact_pii.py"

RAW_PREFIX = "raw/"
CURATED_PREFIX = "curated/"
REPORTS_PREFIX = "reports/"
TEMP_PREFIX = "glue-temp/"
TABLE_NAME = "redacted"
#: Share of rows Glue's classify_columns samples to decide which columns are PII as a whole
#: (sampleFraction 0.1, the default on aws-glue-api-sensitive-data-example.html).
SAMPLE_PERCENT = 10
#: The columns of the sample data and of the Glue table over the curated Parquet.
COLUMNS = ("customer_id", "full_name", "email", "phone", "ssn", "notes")
#: Glue writes a job's logs under this prefix; with a security configuration that encrypts
#: CloudWatch Logs, in groups named after the configuration and the role
#: (https://docs.aws.amazon.com/glue/latest/dg/console-security-configurations.html).
GLUE_LOG_GROUPS = "/aws-glue/*"


class SecureDataLakeStack(PatternStack):
    """Raw -> Glue PII redaction -> curated, with analytics reports and lifecycle tiering.

    Attributes:
        key: the customer-managed key of buckets, job output, logs and bookmarks.
        raw_bucket, curated_bucket, analytics_bucket: the three buckets.
        security_configuration: the Glue security configuration (L1).
        job: the Glue job (L1).
        table: the Glue table over the curated Parquet (L1).
    """

    def build(self, settings: SecureDataLakeSettings) -> None:
        self.key = self.data_key("data lake buckets, Glue job output, logs and bookmarks")
        self.analytics_bucket = self._bucket(
            "Analytics", "Storage Class Analysis reports and the Glue job's temporary files"
        )
        self.raw_bucket = self._bucket("Raw", "raw CSV uploads that may contain PII")
        self.curated_bucket = self._bucket("Curated", "Parquet with PII redacted by the job")
        self._tiering(settings)
        self._allow_analytics_exports()

        database_name = self.node.id.lower().replace("-", "_")
        database = glue_database(
            self, "Database", name=database_name, description=f"{self.node.id}: curated data"
        )
        self.table = parquet_table(
            self,
            "Table",
            database=database,
            name=TABLE_NAME,
            description="Curated rows with PII redacted by the Glue job",
            location=f"s3://{self.curated_bucket.bucket_name}/{CURATED_PREFIX}",
            columns=[(column, "string") for column in COLUMNS],
        )

        script = s3_assets.Asset(self, "JobScript", path=str(JOB_SCRIPT))
        role, policy = self._job_role(script, database_name)
        self.security_configuration = self._security_configuration()
        self.job = self._job(settings, script, role)
        self.job.node.add_dependency(policy)
        self.log_cleanup: LogGroupCleanup | None = None
        if self.defaults.removes_leftovers:
            self.log_cleanup = self._log_cleanup()
        self._declare_outputs(settings, database_name)

    def _log_cleanup(self) -> LogGroupCleanup:
        """Sandbox: delete, after the job, the log groups Glue created for it at run time.

        With a security configuration that encrypts CloudWatch Logs, Glue writes the job's
        logs to groups named after the configuration and the role, which it creates outside
        the stack: ``/aws-glue/jobs/<configuration>-role/<role>/`` ("Setting up encryption
        in AWS Glue", https://docs.aws.amazon.com/glue/latest/dg/set-up-encryption.html) or
        ``/aws-glue/jobs-<role>-<configuration>/`` (``LogGroupName`` of "JobRun",
        https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html). The documented names
        differ, so the cleanup deletes every group under ``/aws-glue/jobs`` whose name holds
        the configuration's name, which is unique to this stack."""
        name = self.security_configuration.name
        if name is None or cdk.Token.is_unresolved(name):
            raise ValueError("the security configuration needs a literal name for the cleanup")
        cleanup = LogGroupCleanup(
            self,
            "JobLogCleanup",
            prefix="/aws-glue/jobs",
            marker=name,
            delete_patterns=[f"/aws-glue/jobs/{name}-role/*", f"/aws-glue/jobs-*-{name}/*"],
            encryption_key=self.key,
            log_retention=self.defaults.log_retention,
            removal_policy=self.defaults.removal_policy,
        )
        cleanup.before(self.job)
        return cleanup

    def _bucket(self, construct_id: str, contents: str) -> s3.Bucket:
        return SecureBucket(
            self,
            construct_id,
            **self.defaults.bucket_props(),
            encryption_key=self.key,
            contents=contents,
            no_replication_because=(
                "A reference data lake for one account and region; which data needs a "
                "replica in another region is the data owner's decision."
            ),
        ).bucket

    def _tiering(self, settings: SecureDataLakeSettings) -> None:
        """Lifecycle transitions, and Storage Class Analysis on the buckets that tier."""
        self.raw_bucket.add_lifecycle_rule(
            id="RawToStandardIA",
            transitions=[
                s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=cdk.Duration.days(settings.raw_infrequent_access_days),
                )
            ],
        )
        tiering = settings.curated_intelligent_tiering_days
        self.curated_bucket.add_lifecycle_rule(
            id="CuratedTiering",
            transitions=[
                s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=cdk.Duration.days(settings.curated_infrequent_access_days),
                )
                if tiering is None
                else s3.Transition(
                    storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                    transition_after=cdk.Duration.days(tiering),
                )
            ],
        )
        for name, bucket in (("raw", self.raw_bucket), ("curated", self.curated_bucket)):
            resource = bucket.node.default_child
            assert isinstance(resource, s3.CfnBucket)
            resource.analytics_configurations = [
                s3.CfnBucket.AnalyticsConfigurationProperty(
                    id="WholeBucket",
                    storage_class_analysis=s3.CfnBucket.StorageClassAnalysisProperty(
                        data_export=s3.CfnBucket.DataExportProperty(
                            destination=s3.CfnBucket.DestinationProperty(
                                bucket_arn=self.analytics_bucket.bucket_arn,
                                format="CSV",
                                prefix=f"{REPORTS_PREFIX}{name}",
                                bucket_account_id=self.account,
                            ),
                            output_schema_version="V_1",
                        )
                    ),
                )
            ]

    def _allow_analytics_exports(self) -> None:
        """S3 writes the daily exports as the service, so the analytics bucket's policy and
        the key's policy must let it ("Grant permissions for S3 Inventory and S3 analytics",
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html)."""
        sources = [self.raw_bucket.bucket_arn, self.curated_bucket.bucket_arn]
        conditions = {
            "ArnLike": {"aws:SourceArn": sources},
            "StringEquals": {"aws:SourceAccount": self.account},
        }
        self.analytics_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="StorageClassAnalysisExports",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.analytics_bucket.arn_for_objects(f"{REPORTS_PREFIX}*")],
                conditions=conditions,
            )
        )
        # The key cannot name the buckets (they are encrypted with it: a cycle); S3 is
        # held to this account, and the bucket policy above to the two source buckets.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="StorageClassAnalysisExports",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )

    def _job_role(
        self, script: s3_assets.Asset, database_name: str
    ) -> tuple[iam.Role, iam.ManagedPolicy]:
        """Read the script and raw data, write curated data and temp files, use the key
        for S3, logs and bookmarks, write logs, read the catalog."""
        raw, curated, analytics = self.raw_bucket, self.curated_bucket, self.analytics_bucket
        glue_arn = self.arn_prefix("glue")
        role, policy = service_role(
            self,
            "Job",
            service="glue.amazonaws.com",
            description="Glue PII redaction job: raw to curated, encrypted logs and bookmarks",
            statements=[
                iam.PolicyStatement(
                    sid="Script",
                    actions=["s3:GetObject"],
                    resources=[script.bucket.arn_for_objects(script.s3_object_key)],
                ),
                iam.PolicyStatement(
                    sid="ReadRaw",
                    actions=["s3:GetObject"],
                    resources=[raw.arn_for_objects(f"{RAW_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="WriteCuratedAndTemp",
                    actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    resources=[
                        curated.arn_for_objects(f"{CURATED_PREFIX}*"),
                        analytics.arn_for_objects(f"{TEMP_PREFIX}*"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="List",
                    actions=["s3:ListBucket"],
                    resources=[raw.bucket_arn, curated.bucket_arn, analytics.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="Key",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[self.key.key_arn],
                ),
                iam.PolicyStatement(
                    sid="Logs",
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:AssociateKmsKey",
                    ],
                    resources=[
                        f"{self.arn_prefix('logs')}:log-group:{GLUE_LOG_GROUPS}",
                    ],
                ),
                iam.PolicyStatement(
                    sid="Catalog",
                    actions=["glue:GetDatabase", "glue:GetTable"],
                    resources=[
                        f"{glue_arn}:catalog",
                        f"{glue_arn}:database/default",
                        f"{glue_arn}:database/{database_name}",
                        f"{glue_arn}:table/{database_name}/{TABLE_NAME}",
                    ],
                ),
            ],
        )
        self._acknowledge_job_policy(policy, script)
        return role, policy

    def _acknowledge_job_policy(self, policy: iam.ManagedPolicy, script: s3_assets.Asset) -> None:
        findings = {
            f"AwsSolutions-IAM5[Resource::<{self._id_of(bucket)}.Arn>/{prefix}*]"
            for bucket, prefix in (
                (self.raw_bucket, RAW_PREFIX),
                (self.curated_bucket, CURATED_PREFIX),
                (self.analytics_bucket, TEMP_PREFIX),
            )
        }
        acknowledge(
            policy,
            "Spark reads every CSV under raw/ and writes part files (and its _temporary "
            "staging) with names it generates under curated/ and glue-temp/, so object ARNs "
            "end in a wildcard below those prefixes of this stack's own buckets.",
            *sorted(findings),
        )
        acknowledge(
            policy,
            "Glue names the job's log groups after the security configuration and the role "
            "at run time, under /aws-glue/, so the log actions name that prefix.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:/aws-glue/*]",
        )

    def _id_of(self, bucket: s3.Bucket) -> str:
        return self.get_logical_id(bucket.node.default_child)

    def _security_configuration(self) -> glue.CfnSecurityConfiguration:
        """SSE-KMS for S3 output, KMS for CloudWatch logs, CSE-KMS for job bookmarks."""
        key_arn = self.key.key_arn
        configuration = glue.CfnSecurityConfiguration
        encryption = configuration.EncryptionConfigurationProperty(
            s3_encryptions=[
                configuration.S3EncryptionProperty(
                    s3_encryption_mode="SSE-KMS", kms_key_arn=key_arn
                )
            ],
            cloud_watch_encryption=configuration.CloudWatchEncryptionProperty(
                cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=key_arn
            ),
            job_bookmarks_encryption=configuration.JobBookmarksEncryptionProperty(
                job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=key_arn
            ),
        )
        security = configuration(
            self,
            "SecurityConfiguration",
            # Every property is create-only: the name carries a digest of the modes, so a
            # change replaces the configuration under a new name.
            name=stack_digest_name(self, ["SSE-KMS", "SSE-KMS", "CSE-KMS"], max_length=128),
            encryption_configuration=encryption,
        )
        return security

    def _job(
        self, settings: SecureDataLakeSettings, script: s3_assets.Asset, role: iam.IRole
    ) -> glue.CfnJob:
        raw, curated = self.raw_bucket.bucket_name, self.curated_bucket.bucket_name
        return glue.CfnJob(
            self,
            "Job",
            description="Detect PII in raw CSV (column and cell level), write redacted Parquet",
            role=role.role_arn,
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script.s3_object_url
            ),
            glue_version=settings.glue_version,
            worker_type="G.1X",
            number_of_workers=settings.workers,
            timeout=settings.timeout_minutes,
            max_retries=0,
            execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=1),
            security_configuration=self.security_configuration.ref,
            default_arguments={
                "--job-language": "python",
                "--job-bookmark-option": "job-bookmark-enable",
                "--enable-glue-datacatalog": "true",
                "--TempDir": f"s3://{self.analytics_bucket.bucket_name}/{TEMP_PREFIX}",
                "--RAW_PATH": f"s3://{raw}/{RAW_PREFIX}",
                "--CURATED_PATH": f"s3://{curated}/{CURATED_PREFIX}",
                "--ENTITY_TYPES": ",".join(settings.entity_types),
                "--ACTION": settings.redaction_action.upper(),
                "--REDACT_TEXT": settings.redact_text,
                "--COLUMN_THRESHOLD_PERCENT": str(settings.column_threshold_percent),
                "--SAMPLE_PERCENT": str(SAMPLE_PERCENT),
            },
        )

    def _declare_outputs(self, settings: SecureDataLakeSettings, database_name: str) -> None:
        self.output(Outputs.RAW_BUCKET_NAME, self.raw_bucket.bucket_name, "Upload CSV here")
        self.output(
            Outputs.CURATED_BUCKET_NAME, self.curated_bucket.bucket_name, "Redacted Parquet"
        )
        self.output(
            Outputs.ANALYTICS_BUCKET_NAME,
            self.analytics_bucket.bucket_name,
            "Storage Class Analysis reports and Glue temporary files",
        )
        self.output(Outputs.RAW_PREFIX, RAW_PREFIX, "Prefix the job reads CSV from")
        self.output(Outputs.CURATED_PREFIX, CURATED_PREFIX, "Prefix the job writes Parquet to")
        self.output(Outputs.REPORTS_PREFIX, REPORTS_PREFIX, "Prefix of the daily CSV reports")
        self.output(Outputs.JOB_NAME, self.job.ref, "Glue job that redacts PII")
        self.output(Outputs.GLUE_DATABASE_NAME, database_name, "Glue database of the table")
        self.output(Outputs.GLUE_TABLE_NAME, TABLE_NAME, "Glue table over the curated Parquet")
        self.output(Outputs.REDACTION_ACTION, settings.redaction_action.upper(), "REDACT or hash")
        self.output(Outputs.REDACT_TEXT, settings.redact_text, "Text that replaces PII")
