"""Pattern ``redshift-ml``: Redshift Serverless streaming ingestion and Redshift ML.

Notes section "Redshift" (streaming ingestion, Redshift ML trains models with SageMaker from
SQL) and "Kinesis data firehose". The notes say streaming ingestion reads Firehose; it reads
Kinesis Data Streams (or MSK), and Firehose loads Redshift through S3 and COPY (see the
pattern's page). Resources:

- a Kinesis data stream encrypted with the stack's customer-managed key,
- a Redshift Serverless namespace (same key; the admin password generated and kept in
  Secrets Manager by Redshift, ``ManageAdminPassword``, its secret encrypted with the key)
  and a workgroup in three isolated subnets (not publicly accessible, enhanced VPC routing,
  base capacity from the settings), reaching Kinesis through an interface endpoint and S3
  through the gateway,
- the role the namespace lists, which Redshift assumes to read the stream and SageMaker
  assumes to train the models ``CREATE MODEL`` asks for, with a bucket for the training data
  and model artifacts,
- a custom resource (:class:`RedshiftSql`) that runs the committed SQL (external schema
  ``FROM KINESIS``, a materialized view with ``AUTO REFRESH YES``) through the Data API.

What the VPC needs, with enhanced VPC routing and no route to the internet: the S3 gateway
and the Kinesis interface endpoint, and no SageMaker endpoint.

- Enhanced VPC routing governs the warehouse's data traffic: "Amazon Redshift forces all COPY
  and UNLOAD traffic between your cluster and your data repositories through your virtual
  private cloud (VPC)" ("Enhanced VPC routing in Amazon Redshift",
  https://docs.aws.amazon.com/redshift/latest/mgmt/enhanced-vpc-routing.html), and "If you
  attach an Amazon S3 VPC endpoint, the VPC endpoint is used only for access to Amazon S3
  buckets in the same AWS Region" ("Turning on enhanced VPC routing",
  https://docs.aws.amazon.com/redshift/latest/mgmt/enhanced-vpc-enabling-cluster.html).
- ``CREATE MODEL`` moves data only through S3: it "returns upon the export of training data
  to Amazon S3. The remaining steps of training in Amazon SageMaker occur in the
  background", and "the Amazon S3 bucket that is used to stage the training data and model
  artifacts must be in the same AWS Region" (CREATE MODEL, "Usage notes",
  https://docs.aws.amazon.com/redshift/latest/dg/r_create_model_usage_notes.html). The export
  is an unload to the stack's bucket in the stack's Region, which the S3 gateway carries.
  SageMaker then trains as the namespace's role (it trusts ``sagemaker.amazonaws.com``:
  "Cluster and configure setup for Amazon Redshift ML administration",
  https://docs.aws.amazon.com/redshift/latest/dg/admin-setup.html); that setup page asks for
  the role and the bucket and no VPC endpoint, and no Redshift page routes Redshift's calls
  to the SageMaker API through the workgroup's VPC, so the stack adds no
  ``sagemaker.api`` endpoint (about $7.30 a month for nothing the pages ask).
- Streaming ingestion reads the stream from the workgroup, and the streaming ingestion
  set-up names the private path: "verify that your Amazon Redshift cluster has a route to get
  to the Kinesis Data Streams endpoints over the internet using a NAT gateway or internet
  gateway. If you want traffic between your Amazon Redshift cluster and Kinesis Data Streams
  to remain within the AWS network, consider using a Kinesis Interface VPC Endpoint"
  ("Getting started with streaming ingestion from Amazon Kinesis Data Streams", step 2,
  https://docs.aws.amazon.com/redshift/latest/dg/materialized-view-streaming-ingestion-getting-started.html;
  the configuration "appl[ies] both to provisioned Amazon Redshift clusters and to Amazon
  Redshift Serverless"). The stack takes that endpoint (``kinesis-streams``) and no NAT
  gateway: the enabling page's "publicly accessible or use a network address translation
  (NAT) gateway" is for services the S3 gateway endpoint does not reach and no interface
  endpoint serves.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as redshift

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.digest_name import stack_digest_name
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.redshift_ml import sql
from ml_refarch.stacks.redshift_ml.outputs import Outputs
from ml_refarch.stacks.redshift_ml.redshift_role import redshift_role
from ml_refarch.stacks.redshift_ml.redshift_sql import RedshiftSql
from ml_refarch.stacks.redshift_ml.settings import RedshiftMlSettings

#: Redshift Serverless needs subnets in at least three Availability Zones ("Considerations
#: when using Amazon Redshift Serverless":
#: https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html).
WORKGROUP_AZS = 3
#: The admin user Redshift creates and keeps the password of.
ADMIN_USERNAME = "admin"
#: Names the SQL gives the objects it creates.
STREAM_SCHEMA = "kinesis_source"
STREAMING_VIEW = "stream_events"
#: Logs the namespace exports to CloudWatch Logs (connections, users, and every query).
LOG_EXPORTS = ("connectionlog", "userlog", "useractivitylog")
#: Namespace and workgroup names: lower-case letters, digits and hyphens, 3 to 64.
NAME_LENGTH = 64


class RedshiftMlStack(PatternStack):
    """Kinesis -> Redshift Serverless (streaming ingestion) -> Redshift ML.

    Attributes:
        key: the stack's customer-managed key (stream, namespace, secret, bucket, logs).
        network: the isolated VPC of the workgroup.
        stream: the Kinesis data stream producers write to.
        bucket: where CREATE MODEL unloads training data and SageMaker writes artifacts.
        role: the role Redshift and SageMaker assume (the namespace's default role).
        namespace / workgroup: the Redshift Serverless resources (L1).
        sql: the custom resource running the SQL, or ``None`` for the local target.
    """

    @property
    def availability_zones(self) -> list[str]:
        """Three zones even where CDK offers an environment-agnostic stack two."""
        zones = super().availability_zones
        if len(zones) >= WORKGROUP_AZS or not cdk.Token.is_unresolved(self.region):
            return zones
        return [cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(WORKGROUP_AZS)]

    def build(self, settings: RedshiftMlSettings) -> None:
        self.key = key = self.data_key("stream, warehouse, admin secret, model bucket and logs")
        vpc_props = self.defaults.vpc_props()
        vpc_props["max_azs"] = max(vpc_props["max_azs"], WORKGROUP_AZS)
        self.network = IsolatedVpc(
            self,
            "Network",
            encryption_key=key,
            services={"KinesisStreams": ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS},
            **vpc_props,
        )
        self.stream = self._stream(key, settings)
        self.bucket = SecureBucket(
            self,
            "Models",
            **self.defaults.bucket_props(),
            encryption_key=key,
            contents="Redshift ML training data and SageMaker model artifacts",
            no_replication_because=(
                "CREATE MODEL writes training extracts and artifacts here that it can rebuild "
                "from the warehouse by running again; replication is left to the adopting team."
            ),
        ).bucket
        self.role, role_policy = redshift_role(
            self, "Redshift", stream=self.stream, bucket=self.bucket, key=key
        )
        self.namespace = self._namespace(key, settings)
        self.workgroup = self._workgroup(settings)

        self.sql: RedshiftSql | None = None
        if self.defaults.custom_resources:
            self.sql = self._run_sql(key, settings)
            # Creating the view reads the stream as the role, through the endpoint.
            self.sql.resource.node.add_dependency(role_policy)
            for endpoint in self.network.endpoints.values():
                self.sql.resource.node.add_dependency(endpoint)
        self._declare_outputs(settings)

    def _stream(self, key: kms.IKey, settings: RedshiftMlSettings) -> kinesis.Stream:
        stream = kinesis.Stream(
            self,
            "Stream",
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=key,
            retention_period=cdk.Duration.hours(settings.retention_hours),
            stream_mode=kinesis.StreamMode.PROVISIONED,
            shard_count=settings.shard_count,
            # CDK retains a stream by default; a kept stream bills per shard-hour.
            removal_policy=self.defaults.removal_policy,
        )
        acknowledge(
            stream,
            "The stream uses this stack's customer-managed key instead of aws/kinesis, so the "
            "key policy, rotation and CloudTrail audit of decrypts are under the team's control.",
            "AwsSolutions-KDS3",
        )
        return stream

    def _namespace(self, key: kms.IKey, settings: RedshiftMlSettings) -> redshift.CfnNamespace:
        namespace = redshift.CfnNamespace(
            self,
            "Namespace",
            # Only the name is create-only; it never changes, so it can be fixed.
            namespace_name=stack_digest_name(self, "namespace", max_length=NAME_LENGTH).lower(),
            db_name=settings.database_name,
            admin_username=ADMIN_USERNAME,
            manage_admin_password=True,
            admin_password_secret_kms_key_id=key.key_arn,
            kms_key_id=key.key_arn,
            iam_roles=[self.role.role_arn],
            default_iam_role_arn=self.role.role_arn,
            log_exports=list(LOG_EXPORTS),
        )
        namespace.apply_removal_policy(self.defaults.removal_policy)
        namespace.node.add_dependency(key)
        return namespace

    def _workgroup(self, settings: RedshiftMlSettings) -> redshift.CfnWorkgroup:
        namespace_name = self.namespace.namespace_name
        workgroup = redshift.CfnWorkgroup(
            self,
            "Workgroup",
            # The namespace name is create-only too: the digest follows it.
            workgroup_name=stack_digest_name(
                self, ["workgroup", namespace_name], max_length=NAME_LENGTH
            ).lower(),
            namespace_name=self.namespace.ref,
            base_capacity=settings.base_capacity_rpus,
            enhanced_vpc_routing=True,
            publicly_accessible=False,
            subnet_ids=[subnet.subnet_id for subnet in self.network.subnets],
            security_group_ids=[self.network.workload_security_group.security_group_id],
        )
        workgroup.node.add_dependency(self.namespace)
        workgroup.apply_removal_policy(self.defaults.removal_policy)
        return workgroup

    def _sql_values(self) -> dict[str, str]:
        return {
            "stream_schema": STREAM_SCHEMA,
            "streaming_view": STREAMING_VIEW,
            "stream_name": self.stream.stream_name,
            "redshift_role_arn": self.role.role_arn,
        }

    def _run_sql(self, key: kms.IKey, settings: RedshiftMlSettings) -> RedshiftSql:
        values = self._sql_values()
        statements = [sql.render(name, values) for name in sql.DEPLOY_STATEMENTS]
        return RedshiftSql(
            self,
            "StreamingSql",
            namespace=self.namespace,
            workgroup=self.workgroup,
            database=settings.database_name,
            statements=statements,
            purpose="streaming ingestion",
            encryption_key=key,
            **self.defaults.log_group_props(),
        )

    def _declare_outputs(self, settings: RedshiftMlSettings) -> None:
        self.output(Outputs.STREAM_NAME, self.stream.stream_name, "Producers write here")
        self.output(
            Outputs.NAMESPACE_NAME, self.namespace.namespace_name, "Redshift Serverless namespace"
        )
        self.output(
            Outputs.WORKGROUP_NAME,
            self.workgroup.workgroup_name,
            "Workgroup the Data API runs SQL in",
        )
        self.output(Outputs.DATABASE_NAME, settings.database_name, "Database of the view")
        self.output(
            Outputs.STREAMING_VIEW,
            STREAMING_VIEW,
            "Materialized view the stream is ingested into (AUTO REFRESH YES)",
        )
        self.output(
            Outputs.REDSHIFT_ROLE_ARN,
            self.role.role_arn,
            "IAM_ROLE of CREATE MODEL (the namespace's default role)",
        )
        self.output(Outputs.MODEL_BUCKET_NAME, self.bucket.bucket_name, "S3_BUCKET of CREATE MODEL")
        self.output(Outputs.KEY_ID, self.key.key_id, "KMS_KEY_ID of CREATE MODEL")
