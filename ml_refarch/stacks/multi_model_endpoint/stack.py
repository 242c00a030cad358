"""Pattern ``multi-model-endpoint``: one serving container hosting many models.

Notes sections "SG Endpoint" (a multi-model endpoint shares one serving container among
several models, using the endpoint better than one endpoint per model and cutting
deployment overhead; add instances of the same size to the endpoint for availability) and
"Inference" (two or more instances across Availability Zones, auto scaling with target
metrics, capacity bounds and cooldowns). Resources:

- a KMS-encrypted bucket the stack owns, whose ``models/`` prefix holds the artifacts:
  the committed ``churn-v1.tar.gz`` and ``churn-v2.tar.gz`` are copied there at deploy time
  (CDK's ``BucketDeployment``; skipped for the ``local`` target, which runs no custom
  resources), and users add more with ``aws s3 cp``,
- a SageMaker model with one XGBoost container in ``MultiModel`` mode over that prefix,
  network isolated, in the isolated VPC's subnets (two zones or more),
- an endpoint configuration (instance volumes under the stack's key) with one instance
  variant, target tracking on invocations per instance with cooldowns, never below two
  instances, and 5xx and model-latency alarms to a KMS-encrypted SNS topic.

A request picks its model with ``TargetModel`` (the artifact's key below the prefix,
``churn-v2.tar.gz``); the container loads it from S3 on first use and caches it.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_deployment as s3_deployment

from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import (
    DEPLOY_TIME_HANDLER_CHECKOV,
    acknowledge,
    skip_checkov,
)
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.hosting import Container, xgboost_image_uri
from ml_refarch.constructs.model_endpoint import (
    HostingFoundation,
    ModelEndpoint,
    ServedModel,
    ServedVariant,
)
from ml_refarch.model_artifacts import MODELS_DIR, RECIPES
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.multi_model_endpoint.outputs import Outputs
from ml_refarch.stacks.multi_model_endpoint.settings import MultiModelEndpointSettings

#: Where the artifacts live in the bucket: the container's ModelDataUrl.
MODELS_PREFIX = "models/"
VARIANT_NAME = "AllModels"
#: What the endpoint's variant-to-model mapping calls its one model: every artifact under
#: the prefix.
SERVED_MODEL = "models-under-prefix"
#: The committed artifacts the stack publishes, as TargetModel names.
COMMITTED_ARTIFACTS = tuple(recipe.artifact_path.name for recipe in RECIPES)


class MultiModelEndpointStack(PatternStack):
    """A multi-model endpoint over the ``models/`` prefix of a bucket the stack owns.

    Attributes:
        foundation: key, isolated VPC, execution role and alert topic.
        bucket: the artifact bucket.
        models_uri: ``s3://<bucket>/models/``, the container's ``ModelDataUrl``.
        deployment: the copy of the committed artifacts, or ``None`` for the local target.
        model: the hosted model (``MultiModel`` mode).
        endpoint: the endpoint configuration and endpoint, with scaling and alarms.
    """

    def build(self, settings: MultiModelEndpointSettings) -> None:
        self.foundation = HostingFoundation(
            self, "Hosting", defaults=self.defaults, purpose="multi-model endpoint"
        )
        key = self.foundation.key
        self.bucket = SecureBucket(
            self,
            "Models",
            **self.defaults.bucket_props(),
            encryption_key=key,
            contents="model artifacts",
            no_replication_because=(
                "The bucket holds model artifacts whose sources are kept elsewhere: the "
                "committed ones are in the repository and redeployed with the stack, and "
                "added ones come from the team's training outputs or registry."
            ),
        ).bucket
        self.models_uri = self.bucket.s3_url_for_object(MODELS_PREFIX)
        self._grant_model_reads()

        self.deployment: s3_deployment.BucketDeployment | None = None
        if self.defaults.custom_resources:
            self.deployment = self._publish_committed_artifacts()

        container = Container(
            image=xgboost_image_uri(self), model_data_url=self.models_uri, mode="MultiModel"
        )
        hosted = ModelEndpoint(
            self,
            "Default",
            foundation=self.foundation,
            models=[ServedModel(name=SERVED_MODEL, containers=[container])],
            variants=[ServedVariant(model=SERVED_MODEL, name=VARIANT_NAME)],
            hosting=settings,
            # The read permission on the prefix is in the role's managed policy, not the role.
            models_wait_for=[self.foundation.role_policy],
        )
        self.model = hosted.models[SERVED_MODEL]
        self.endpoint = hosted.endpoint

        self.output(Outputs.ENDPOINT_NAME, self.endpoint.endpoint_name, "The multi-model endpoint")
        self.output(Outputs.VARIANT_NAME, VARIANT_NAME, "Its one variant (all models share it)")
        self.output(Outputs.MODELS_BUCKET_NAME, self.bucket.bucket_name, "Bucket of the artifacts")
        self.output(Outputs.MODELS_URI, self.models_uri, "Prefix the container loads models from")
        self.output(
            Outputs.COMMITTED_MODELS,
            ",".join(COMMITTED_ARTIFACTS),
            "TargetModel names of the artifacts the stack publishes",
        )
        self.output(
            Outputs.ALARM_TOPIC_ARN, self.foundation.topic.topic_arn, "Alarms (subscribe here)"
        )

    def _grant_model_reads(self) -> None:
        """Let SageMaker read artifacts under the prefix, and nothing else in the bucket."""
        policy = self.foundation.role_policy
        policy.add_statements(
            iam.PolicyStatement(
                sid="ModelArtifacts",
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{MODELS_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="ModelArtifactsList",
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{MODELS_PREFIX}*"]}},
            ),
        )
        bucket_id = self.get_logical_id(self.bucket.node.default_child)
        acknowledge(
            policy,
            "A multi-model endpoint loads whichever artifact a request's TargetModel names, "
            "and users add artifacts after deployment, so the role reads every object under "
            "the models/ prefix of the stack's own bucket and nothing outside it.",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{MODELS_PREFIX}*]",
        )

    def _publish_committed_artifacts(self) -> s3_deployment.BucketDeployment:
        """Copy the committed artifacts under the prefix when the stack deploys."""
        log_group = self.log_group("PublishModelsLogs", self.foundation.key)
        deployment = s3_deployment.BucketDeployment(
            self,
            "PublishModels",
            sources=[
                s3_deployment.Source.asset(
                    str(MODELS_DIR),
                    # Only the artifacts: the manifest is for the smoke checks, not SageMaker.
                    exclude=["*", *(f"!{name}" for name in COMMITTED_ARTIFACTS)],
                )
            ],
            destination_bucket=self.bucket,
            destination_key_prefix=MODELS_PREFIX,
            # Keep the artifacts users add with `aws s3 cp` when the stack is updated.
            prune=False,
            log_group=log_group,
        )
        self._acknowledge_publisher(deployment)
        return deployment

    def _acknowledge_publisher(self, deployment: s3_deployment.BucketDeployment) -> None:
        """The findings on CDK's copy handler (one Lambda function per stack)."""
        handler = next(
            child
            for child in self.node.children
            if child.node.id.startswith("Custom::CDKBucketDeployment")
        )
        acknowledge(
            handler,
            "CDK's BucketDeployment handler copies the committed model artifacts into the "
            "models/ prefix: it runs only while CloudFormation creates, updates or deletes "
            "the stack, is invoked synchronously (a failure fails the deployment, so a DLQ "
            "has nothing to catch), calls only S3, and CDK pins its runtime and code.",
            # The deploy-time handler rules with the runtime's, in the order the template
            # has always listed them.
            controls.LAMBDA_CONCURRENCY,
            controls.LAMBDA_DLQ,
            controls.LAMBDA_INSIDE_VPC,
            controls.LAMBDA_LATEST_RUNTIME,
            "Serverless-LambdaTracing",
            checkov=DEPLOY_TIME_HANDLER_CHECKOV,
        )
        skip_checkov(
            handler,
            "The copy handler's only environment variable is the path of the CA bundle in "
            "its runtime image, which CDK sets; no secret is ever stored there.",
            "CKV_AWS_173",
        )
        role = deployment.handler_role
        acknowledge(
            role,
            "The role of CDK's artifact-copy handler uses AWSLambdaBasicExecutionRole only to "
            "write the handler's logs; its S3 permissions are CDK's own grants on the two "
            "buckets involved.",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
        )
        bucket_id = self.get_logical_id(self.bucket.node.default_child)
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "CDK writes the artifact-copy handler's grants inline: read the deployment's "
            "source zip in the CDK assets bucket and read, write and delete objects (with "
            "the stack key) in the models bucket; the wildcards are CDK's grant action "
            "groups and the object ARNs of those two buckets only.",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-"
            "<AWS::AccountId>-<AWS::Region>/*]",
            controls.IAM_NO_INLINE_POLICY,
        )
