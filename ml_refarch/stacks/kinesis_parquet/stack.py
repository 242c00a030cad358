"""Pattern ``kinesis-parquet``: streaming ingest to Parquet on S3.

Notes sections "Kinesis data streams" and "Kinesis data firehose": a stream cannot turn
records into Parquet by itself, Firehose can (from JSON, through a Glue table's schema), and
CSV must become JSON first. Resources:

- a Kinesis data stream (customer-managed KMS key, retention from 24 h, provisioned shards
  sized from the write rate or on-demand),
- a Firehose delivery stream reading the stream and converting JSON to Parquet with the
  Glue table's schema, writing date-partitioned objects to a KMS-encrypted bucket, failed
  records under an error prefix, delivery errors to an encrypted log group,
- a Glue database and table (partition projection, so Athena needs no crawler),
- optionally the ``csv_to_json`` transform Lambda for CSV producers.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.glue_catalog import glue_database, parquet_table
from ml_refarch.constructs.python_function import Unbounded, python_function
from ml_refarch.constructs.service_role import service_role
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.kinesis_parquet.outputs import Outputs
from ml_refarch.stacks.kinesis_parquet.settings import KinesisParquetSettings

DATA_PREFIX = "data/"
ERROR_PREFIX = "errors/"
_HOURLY = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
DELIVERY_LOG_STREAM = "DestinationDelivery"


class KinesisParquetStack(PatternStack):
    """Kinesis Data Streams -> Firehose (JSON to Parquet) -> S3, catalogued in Glue.

    Attributes:
        stream: the Kinesis data stream producers write to.
        bucket: the bucket holding the Parquet files.
        delivery_stream: the Firehose delivery stream (L1).
        table: the Glue table that describes the Parquet files (L1).
        transform_function: the CSV-to-JSON Lambda, or ``None`` for JSON input.
    """

    def build(self, settings: KinesisParquetSettings) -> None:

        key = self.data_key("stream, Parquet bucket and delivery logs")
        self.stream = self._stream(key)
        secure_bucket = SecureBucket(
            self,
            "Parquet",
            **self.defaults.bucket_props(),
            encryption_key=key,
            contents="Parquet files rebuilt from the stream",
            no_replication_because=(
                "Every object here is derived from the stream and can be re-ingested by "
                "replaying producers; cross-region replication is left to the adopting team."
            ),
        )
        self.bucket = secure_bucket.bucket

        database_name = self.node.id.lower().replace("-", "_")
        database = glue_database(
            self,
            "Database",
            name=database_name,
            description=f"{self.node.id}: tables over the Parquet bucket",
        )
        self.table = self._table(database)

        delivery_logs = self.log_group("DeliveryLogs", key)
        logs.LogStream(
            self,
            "DeliveryLogStream",
            log_group=delivery_logs,
            log_stream_name=DELIVERY_LOG_STREAM,
            removal_policy=self.defaults.removal_policy,
        )

        self.transform_function: lambda_.Function | None = None
        if settings.input_format == "csv":
            self.transform_function = self._csv_transform(key)

        self.delivery_stream = self._delivery_stream(key, database_name, delivery_logs)
        self._declare_outputs(database_name)

    def _stream(self, key: kms.IKey) -> kinesis.Stream:
        """Provisioned when the settings size the shards, on-demand otherwise."""
        settings = self.settings
        stream = kinesis.Stream(
            self,
            "Stream",
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=key,
            retention_period=cdk.Duration.hours(settings.retention_hours),
            stream_mode=(
                kinesis.StreamMode.PROVISIONED
                if settings.shard_count is not None
                else kinesis.StreamMode.ON_DEMAND
            ),
            shard_count=settings.shard_count,
            # CDK retains a stream by default; in the sandbox it goes with the stack (its key
            # is scheduled for deletion too, and a kept stream would bill per shard-hour).
            removal_policy=self.defaults.removal_policy,
        )
        acknowledge(
            stream,
            "The stream uses this stack's customer-managed key instead of aws/kinesis, so the "
            "key policy, rotation and CloudTrail audit of decrypts are under the team's control.",
            "AwsSolutions-KDS3",
        )
        return stream

    def _table(self, database: glue.CfnDatabase) -> glue.CfnTable:
        """The Parquet files as an external table, partitioned by the hour Firehose writes."""
        location = f"s3://{self.bucket.bucket_name}/{DATA_PREFIX}"
        return parquet_table(
            self,
            "Table",
            database=database,
            name="events",
            description="Records from the stream, converted to Parquet by Firehose",
            location=location,
            columns=[(column.name, column.type) for column in self.settings.columns],
            # Partition projection: Athena computes partitions from these ranges, so no
            # crawler or MSCK REPAIR is needed as Firehose adds hours.
            parameters={
                "projection.enabled": "true",
                "projection.year.type": "integer",
                "projection.year.range": "2024,2099",
                "projection.month.type": "integer",
                "projection.month.range": "1,12",
                "projection.month.digits": "2",
                "projection.day.type": "integer",
                "projection.day.range": "1,31",
                "projection.day.digits": "2",
                "projection.hour.type": "integer",
                "projection.hour.range": "0,23",
                "projection.hour.digits": "2",
                "storage.location.template": (
                    location + "year=${year}/month=${month}/day=${day}/hour=${hour}/"
                ),
            },
            partition_keys=("year", "month", "day", "hour"),
        )

    def _declare_outputs(self, database_name: str) -> None:
        settings = self.settings
        self.output(Outputs.STREAM_NAME, self.stream.stream_name, "Kinesis data stream to write to")
        self.output(
            Outputs.DELIVERY_STREAM_NAME,
            self.delivery_stream.ref,
            "Firehose delivery stream that converts records to Parquet",
        )
        self.output(
            Outputs.BUCKET_NAME, self.bucket.bucket_name, "Bucket holding the Parquet files"
        )
        self.output(Outputs.DATA_PREFIX, DATA_PREFIX, "Prefix of the Parquet objects")
        self.output(
            Outputs.ERROR_PREFIX, ERROR_PREFIX, "Prefix of records Firehose could not deliver"
        )
        self.output(Outputs.GLUE_DATABASE_NAME, database_name, "Glue database of the table")
        self.output(Outputs.GLUE_TABLE_NAME, "events", "Glue table describing the Parquet files")
        self.output(Outputs.INPUT_FORMAT, settings.input_format, "Format producers must send")
        self.output(
            Outputs.COLUMNS_JSON,
            json.dumps([{"name": c.name, "type": c.type} for c in settings.columns]),
            "Columns of the table, in order",
        )

    def _csv_transform(self, key) -> lambda_.Function:
        """The Firehose transform that turns each CSV row into one JSON object."""
        log_group = self.log_group("TransformLogs", key)
        role, policy = service_role(
            self,
            "Transform",
            service="lambda.amazonaws.com",
            description="CSV-to-JSON transform: write its own logs and traces",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                ),
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn]),
                iam.PolicyStatement(
                    actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    resources=["*"],
                ),
            ],
        )
        acknowledge(
            policy,
            "X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level "
            "permissions, so tracing the transform needs Resource '*'.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        return python_function(
            self,
            "CsvToJson",
            handler_dir="csv_to_json",
            description="Firehose transform: one CSV row per record into one JSON object",
            role=role,
            policy=policy,
            log_group=log_group,
            key=key,
            memory_size=256,
            timeout=cdk.Duration.minutes(1),
            environment={
                "COLUMNS_JSON": json.dumps(
                    [{"name": c.name, "type": c.type} for c in self.settings.columns]
                )
            },
            unbounded=Unbounded(
                no_vpc_because=(
                    "The transform only reshapes the bytes Firehose hands it and calls no other "
                    "service, so a VPC would add network interfaces without isolating anything."
                ),
                no_concurrency_because=(
                    "Reserving concurrency fails in new accounts whose whole quota is 10; "
                    "Firehose calls the transform at most once per shard at a time, which bounds "
                    "it already."
                ),
                no_dlq_because=(
                    "Firehose invokes the transform synchronously and retries failed batches "
                    "itself, sending what still fails to the error prefix; a DLQ would never be "
                    "used."
                ),
            ),
        )

    def _delivery_stream(
        self, key, database_name: str, delivery_logs: logs.LogGroup
    ) -> firehose.CfnDeliveryStream:
        """Firehose from the stream to Parquet on S3, with its least-privilege role."""
        role, policy = self._delivery_role(key, database_name, delivery_logs)
        settings = self.settings
        delivery = firehose.CfnDeliveryStream
        delivery_stream = delivery(
            self,
            "DeliveryStream",
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=(
                delivery.KinesisStreamSourceConfigurationProperty(
                    kinesis_stream_arn=self.stream.stream_arn, role_arn=role.role_arn
                )
            ),
            extended_s3_destination_configuration=delivery.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self.bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=DATA_PREFIX + _HOURLY,
                # Records that fail conversion or processing land here, not in the void.
                error_output_prefix=ERROR_PREFIX + "!{firehose:error-output-type}/" + _HOURLY,
                buffering_hints=delivery.BufferingHintsProperty(
                    interval_in_seconds=settings.buffer_interval_seconds,
                    size_in_m_bs=settings.buffer_size_mib,
                ),
                # Parquet compresses its own pages (Snappy below); the object stays as is.
                compression_format="UNCOMPRESSED",
                encryption_configuration=delivery.EncryptionConfigurationProperty(
                    kms_encryption_config=delivery.KMSEncryptionConfigProperty(
                        awskms_key_arn=key.key_arn
                    )
                ),
                cloud_watch_logging_options=delivery.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=delivery_logs.log_group_name,
                    log_stream_name=DELIVERY_LOG_STREAM,
                ),
                processing_configuration=self._processing(),
                data_format_conversion_configuration=self._parquet_conversion(database_name, role),
            ),
        )
        acknowledge(
            delivery_stream,
            "Firehose rejects server-side encryption on a delivery stream whose source is a "
            "Kinesis stream; records stay encrypted by the source stream's key, and the S3 "
            "destination encrypts with the same customer-managed key.",
            "AwsSolutions-KDF1",
        )
        # The role's permissions must exist before Firehose validates the source and schema.
        delivery_stream.node.add_dependency(policy)
        delivery_stream.node.add_dependency(self.table)
        return delivery_stream

    def _delivery_role(
        self, key, database_name: str, delivery_logs: logs.LogGroup
    ) -> tuple[iam.Role, iam.ManagedPolicy]:
        """Read the stream, look up the table's schema, write the bucket and the logs."""
        log_stream_arn = (
            f"{self.arn_prefix('logs')}:log-group:"
            f"{delivery_logs.log_group_name}:log-stream:{DELIVERY_LOG_STREAM}"
        )
        statements = [
            iam.PolicyStatement(
                actions=[
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                    "kinesis:ListShards",
                ],
                resources=[self.stream.stream_arn],
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn]
            ),
            iam.PolicyStatement(
                actions=[
                    "s3:AbortMultipartUpload",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutObject",
                ],
                resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                actions=["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                resources=[
                    f"{self.arn_prefix('glue')}:catalog",
                    f"{self.arn_prefix('glue')}:database/{database_name}",
                    f"{self.arn_prefix('glue')}:table/{database_name}/events",
                ],
            ),
            iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=[log_stream_arn]),
        ]
        if self.transform_function is not None:
            statements.append(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                    resources=[self.transform_function.function_arn],
                )
            )
        role, policy = service_role(
            self,
            "Delivery",
            service="firehose.amazonaws.com",
            # Only this account's delivery streams may assume the role.
            conditions={"StringEquals": {"sts:ExternalId": self.account}},
            description="Firehose: read the stream, look up the Glue schema, write Parquet",
            statements=statements,
        )
        bucket_id = self.get_logical_id(self.bucket.node.default_child)
        acknowledge(
            policy,
            "Firehose writes objects whose names it generates under the data/ and errors/ "
            "prefixes of this one bucket, so object ARNs must end in a wildcard.",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]",
        )
        return role, policy

    def _processing(
        self,
    ) -> firehose.CfnDeliveryStream.ProcessingConfigurationProperty | None:
        """The CSV-to-JSON transform's invocation, when there is one."""
        if self.transform_function is None:
            return None
        delivery = firehose.CfnDeliveryStream
        return delivery.ProcessingConfigurationProperty(
            enabled=True,
            processors=[
                delivery.ProcessorProperty(
                    type="Lambda",
                    parameters=[
                        delivery.ProcessorParameterProperty(
                            parameter_name="LambdaArn",
                            parameter_value=self.transform_function.function_arn,
                        ),
                        delivery.ProcessorParameterProperty(
                            parameter_name="NumberOfRetries", parameter_value="3"
                        ),
                    ],
                )
            ],
        )

    def _parquet_conversion(
        self, database_name: str, role: iam.IRole
    ) -> firehose.CfnDeliveryStream.DataFormatConversionConfigurationProperty:
        """JSON records in, Snappy-compressed Parquet out, with the Glue table's schema."""
        delivery = firehose.CfnDeliveryStream
        return delivery.DataFormatConversionConfigurationProperty(
            enabled=True,
            input_format_configuration=delivery.InputFormatConfigurationProperty(
                deserializer=delivery.DeserializerProperty(
                    open_x_json_ser_de=delivery.OpenXJsonSerDeProperty()
                )
            ),
            output_format_configuration=delivery.OutputFormatConfigurationProperty(
                serializer=delivery.SerializerProperty(
                    parquet_ser_de=delivery.ParquetSerDeProperty(compression="SNAPPY")
                )
            ),
            schema_configuration=delivery.SchemaConfigurationProperty(
                catalog_id=self.account,
                database_name=database_name,
                table_name="events",
                region=self.region,
                role_arn=role.role_arn,
                version_id="LATEST",
            ),
        )
