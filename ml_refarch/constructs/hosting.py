"""Building blocks of the inference patterns: artifacts, models, endpoints, alarms.

Notes sections "Inference", "SG Endpoint" and "Security". A SageMaker endpoint is three
resources: a model (container image + artifact + role + network), an endpoint configuration
(production variants: which model, on what instances or serverless capacity, with what
weight; the KMS key of the instance volumes; data capture) and the endpoint. These
constructs build them with the project's defaults:

- models run network isolated in the isolated VPC's subnets (two or more zones),
- instance volumes are encrypted with the stack's key (except when a variant runs on an
  instance type with local NVMe storage, whose volumes the hardware encrypts: the API then
  refuses a key for the whole configuration),
- every instance variant scales with target tracking on invocations per instance, with
  explicit cooldowns, never below its minimum,
- 5xx errors and model latency raise CloudWatch alarms to a KMS-encrypted SNS topic.

Nothing here needs Docker or a custom resource: artifacts are file assets.
:mod:`ml_refarch.constructs.model_endpoint` composes these into the one real-time endpoint
every hosting stack uses.

Why CloudFormation (L1) resources and not ``aws-cdk.aws-sagemaker-alpha`` (checked against
2.275.0a0): its ``ContainerDefinition`` has no ``Mode``, so no multi-model container; its
``EndpointConfig`` has no data capture (what Model Monitor reads) and takes either instance
variants or one serverless variant. The multi-model and Model Monitor stacks would need L1s
anyway, so adopting it would give two ways to build the same endpoint; and moving the other
stacks onto it would change every model's and endpoint's logical id (CloudFormation would
replace deployed endpoints) for an API marked experimental, which may change in any
release. The project therefore does not depend on it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_refarch.aws_facts import SAGEMAKER_VARIANT_INSTANCE_COUNT, has_local_storage
from ml_refarch.constructs.digest_name import stack_digest_name
from ml_refarch.constructs.images import XGBOOST_FRAMEWORK, XGBOOST_VERSION, framework_image_uri
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.endpoint_settings import EndpointHostingSettings
from ml_refarch.model_artifacts import artifact_path

#: CreateEndpoint's EndpointName: at most 63 characters (SageMaker API reference).
ENDPOINT_NAME_MAX = 63

#: What SageMaker needs from a variant's name (and what a scalable target's id embeds).
VARIANT_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"

#: The service-linked role Application Auto Scaling scales SageMaker variants with. Naming
#: it in a scalable target makes the service create it if the account lacks it; a role of
#: our own would need SageMaker and CloudWatch permissions and is not what the service uses.
SAGEMAKER_SCALING_ROLE = (
    "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


def xgboost_image_uri(scope: Construct) -> str:
    """The XGBoost inference image (the committed models' runtime) for the stack's region."""
    return framework_image_uri(
        scope, framework=XGBOOST_FRAMEWORK, version=XGBOOST_VERSION, image_scope="inference"
    )


class ModelArtifact(Construct):
    """One of the committed ``model.tar.gz`` files, uploaded as a CDK file asset.

    Args:
        model_name: the model's name in ``ml_refarch/assets/models/manifest.json``
            (``churn-v1``).

    Attributes:
        asset: the file asset (in the CDK bootstrap bucket).
        s3_url: ``s3://bucket/key`` of the artifact, for a container's ``ModelDataUrl``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, model_name: str) -> None:
        super().__init__(scope, construct_id)
        self.model_name = model_name
        self.asset = s3_assets.Asset(self, "Asset", path=str(artifact_path(model_name)))
        self.s3_url = self.asset.s3_object_url

    def read_statement(self) -> iam.PolicyStatement:
        """Permission to read just this artifact (for an execution role)."""
        return iam.PolicyStatement(
            sid=f"Artifact{self.model_name.replace('-', '').title()}",
            actions=["s3:GetObject"],
            resources=[self.asset.bucket.arn_for_objects(self.asset.s3_object_key)],
        )


@dataclass(frozen=True)
class Container:
    """One container of a model.

    Attributes:
        image: the image URI.
        model_data_url: the artifact (``model.tar.gz``), or for ``MultiModel`` mode the S3
            prefix holding the artifacts. Default: none (the image carries everything).
        environment: environment variables. Default: none.
        mode: ``SingleModel`` or ``MultiModel`` (one container loads artifacts on demand
            under ``model_data_url`` by the ``TargetModel`` of each request).
    """

    image: str
    model_data_url: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    mode: str = "SingleModel"

    def __post_init__(self) -> None:
        if self.mode not in ("SingleModel", "MultiModel"):
            raise ValueError(f"mode must be SingleModel or MultiModel, not {self.mode!r}")
        if self.mode == "MultiModel" and not self.model_data_url:
            raise ValueError("a MultiModel container needs model_data_url: the S3 prefix")

    def to_cfn(self) -> sagemaker.CfnModel.ContainerDefinitionProperty:
        return sagemaker.CfnModel.ContainerDefinitionProperty(
            image=self.image,
            model_data_url=self.model_data_url,
            environment=dict(self.environment) or None,
            mode=self.mode,
        )


class HostedModel(Construct):
    """A SageMaker model: one container, or a serial inference pipeline of 2 to 15.

    Args:
        role: the execution role (reads the artifacts, pulls the images).
        containers: one container, or the steps of an inference pipeline in order.
        network: run the containers with network interfaces in this VPC's isolated subnets
            and workload security group. Default: ``None``, outside any VPC (what serverless
            endpoints require).
        network_isolation: cut the containers off from every network, S3 included (SageMaker
            still fetches the artifacts). Default: true. Serverless endpoints do not support
            it; turn it off there and acknowledge rule MLS-MD1 with that reason.

    Attributes:
        model: the ``AWS::SageMaker::Model``.
        model_name: its generated name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: iam.IRole,
        containers: Sequence[Container],
        network: IsolatedVpc | None = None,
        network_isolation: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= len(containers) <= 15:
            raise ValueError(
                f"a model has 1 container, or 2 to 15 in an inference pipeline; got "
                f"{len(containers)}"
            )
        pipeline = len(containers) > 1
        if pipeline and any(container.mode == "MultiModel" for container in containers):
            raise ValueError(
                "a MultiModel container must be the model's only container: an inference "
                "pipeline cannot load models on demand"
            )
        vpc_config = None
        if network is not None:
            vpc_config = sagemaker.CfnModel.VpcConfigProperty(
                subnets=[subnet.subnet_id for subnet in network.subnets],
                security_group_ids=[network.workload_security_group.security_group_id],
            )
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=role.role_arn,
            primary_container=None if pipeline else containers[0].to_cfn(),
            containers=[container.to_cfn() for container in containers] if pipeline else None,
            inference_execution_config=(
                sagemaker.CfnModel.InferenceExecutionConfigProperty(mode="Serial")
                if pipeline
                else None
            ),
            vpc_config=vpc_config,
            enable_network_isolation=network_isolation,
        )
        # The role's policy must exist before SageMaker checks the role can read the artifact.
        self.model.node.add_dependency(role)
        self.model_name = self.model.attr_model_name


@dataclass(frozen=True)
class Serverless:
    """Serverless capacity of a variant: memory, concurrency, optional provisioned part."""

    memory_size_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None

    def __post_init__(self) -> None:
        if self.provisioned_concurrency is not None and not (
            1 <= self.provisioned_concurrency <= self.max_concurrency
        ):
            raise ValueError(
                f"provisioned_concurrency must be from 1 to max_concurrency "
                f"({self.max_concurrency}); got {self.provisioned_concurrency}"
            )


@dataclass(frozen=True)
class Variant:
    """A production variant: one model on instances (or serverless capacity), with a weight.

    Attributes:
        name: the variant name (letters, digits, hyphens).
        model: the model it serves.
        initial_weight: its share of traffic relative to the other variants' weights.
        instance_type / initial_instance_count: the instances (ignored when serverless).
        serverless: serverless capacity instead of instances. Default: instances.
    """

    name: str
    model: HostedModel
    initial_weight: float = 1.0
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 2
    serverless: Serverless | None = None

    def __post_init__(self) -> None:
        if not cdk.Token.is_unresolved(self.name) and not re.fullmatch(
            VARIANT_NAME_PATTERN, self.name
        ):
            raise ValueError(
                f"variant name {self.name!r}: 1-63 letters, digits and hyphens, starting "
                "and ending with a letter or digit"
            )
        if not (math.isfinite(self.initial_weight) and self.initial_weight >= 0):
            raise ValueError(
                f"variant {self.name}: initial_weight must be 0 or more; got {self.initial_weight}"
            )
        if self.serverless is None and self.initial_instance_count < 1:
            raise ValueError(
                f"variant {self.name}: initial_instance_count must be at least 1; got "
                f"{self.initial_instance_count}"
            )

    @classmethod
    def from_settings(
        cls,
        name: str,
        model: HostedModel,
        settings: EndpointHostingSettings,
        *,
        initial_weight: float = 1.0,
    ) -> Variant:
        """An instance variant on the pattern's instance type and starting count."""
        return cls(
            name=name,
            model=model,
            initial_weight=initial_weight,
            instance_type=settings.instance_type,
            initial_instance_count=settings.instance_count,
        )

    @property
    def uses_local_storage(self) -> bool:
        """Whether the variant runs on instances with local NVMe storage."""
        return self.serverless is None and has_local_storage(self.instance_type)

    def to_cfn(self) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        if self.serverless is not None:
            return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=self.name,
                model_name=self.model.model_name,
                initial_variant_weight=self.initial_weight,
                serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    memory_size_in_mb=self.serverless.memory_size_mb,
                    max_concurrency=self.serverless.max_concurrency,
                    provisioned_concurrency=self.serverless.provisioned_concurrency,
                ),
            )
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=self.name,
            model_name=self.model.model_name,
            initial_variant_weight=self.initial_weight,
            instance_type=self.instance_type,
            initial_instance_count=self.initial_instance_count,
        )


@dataclass(frozen=True)
class Autoscaling:
    """Target tracking on ``SageMakerVariantInvocationsPerInstance`` for every instance variant.

    Attributes:
        min_capacity / max_capacity: instance bounds (keep the minimum at 2 or more so the
            variant stays in two zones).
        invocations_per_instance: the per-minute invocations per instance to hold.
        scale_in_cooldown_seconds / scale_out_cooldown_seconds: the waits after a change.
    """

    min_capacity: int
    max_capacity: int
    invocations_per_instance: int
    scale_in_cooldown_seconds: int
    scale_out_cooldown_seconds: int

    def __post_init__(self) -> None:
        if not 1 <= self.min_capacity <= self.max_capacity:
            raise ValueError(
                f"capacity bounds must satisfy 1 <= min_capacity <= max_capacity; got "
                f"{self.min_capacity} and {self.max_capacity}"
            )
        if self.invocations_per_instance <= 0:
            raise ValueError(
                f"invocations_per_instance must be above 0; got {self.invocations_per_instance}"
            )
        if min(self.scale_in_cooldown_seconds, self.scale_out_cooldown_seconds) < 0:
            raise ValueError("cooldowns must be 0 seconds or more")

    @classmethod
    def from_settings(cls, settings: EndpointHostingSettings) -> Autoscaling:
        """The bounds, target and cooldowns an endpoint pattern configures."""
        return cls(
            min_capacity=settings.min_instance_count,
            max_capacity=settings.max_instance_count,
            invocations_per_instance=settings.target_invocations_per_instance,
            scale_in_cooldown_seconds=settings.scale_in_cooldown_seconds,
            scale_out_cooldown_seconds=settings.scale_out_cooldown_seconds,
        )


@dataclass(frozen=True)
class Alarms:
    """CloudWatch alarms per variant, sent to ``topic``.

    Attributes:
        topic: where alarms (and their return to OK) are sent.
        model_latency_ms: alarm when the average model latency exceeds this for
            ``evaluation_minutes``.
        errors_5xx: alarm when the variant returns at least this many 5xx errors in a minute
            for ``evaluation_minutes``.
    """

    topic: sns.ITopic
    model_latency_ms: int = 500
    errors_5xx: int = 1
    evaluation_minutes: int = 5

    def __post_init__(self) -> None:
        if self.model_latency_ms <= 0 or self.errors_5xx < 1 or self.evaluation_minutes < 1:
            raise ValueError(
                "model_latency_ms must be above 0, errors_5xx and evaluation_minutes at least 1"
            )

    @classmethod
    def from_settings(cls, settings: EndpointHostingSettings, topic: sns.ITopic) -> Alarms:
        """Alarms to ``topic`` at the pattern's latency threshold (other thresholds default)."""
        return cls(topic=topic, model_latency_ms=settings.latency_alarm_ms)

    @property
    def model_latency_microseconds(self) -> int:
        """The latency threshold in the unit SageMaker reports ``ModelLatency`` in."""
        return self.model_latency_ms * 1000


@dataclass(frozen=True)
class DataCapture:
    """Capture of requests and responses to S3 (what Model Monitor reads).

    Attributes:
        bucket / prefix: where captured records go.
        sampling_percentage: share of requests captured (1-100).
        encryption_key: the key the capture files are written with.
    """

    bucket: s3.IBucket
    prefix: str
    sampling_percentage: int
    encryption_key: kms.IKey

    def __post_init__(self) -> None:
        if not 1 <= self.sampling_percentage <= 100:
            raise ValueError(
                f"sampling_percentage must be from 1 to 100; got {self.sampling_percentage}"
            )

    @property
    def s3_uri(self) -> str:
        return self.bucket.s3_url_for_object(self.prefix.strip("/"))


class RealtimeEndpoint(Construct):
    """An endpoint configuration and endpoint, with auto scaling and alarms per variant.

    Args:
        variants: the production variants (weights share the traffic).
        encryption_key: the key of the instance volumes. Left out of the configuration when
            it has no instance variant (serverless only) or when any variant runs on an
            instance type with local NVMe storage: the API then refuses a key.
        autoscaling: scale every instance variant. Default: ``None``, fixed capacity.
        alarms: alarm on 5xx errors and model latency. Default: ``None``, no alarms.
        data_capture: capture requests and responses. Default: ``None``.

    Attributes:
        config: the ``AWS::SageMaker::EndpointConfig``.
        endpoint: the ``AWS::SageMaker::Endpoint``.
        endpoint_name: its generated name.
        endpoint_arn: its ARN as SageMaker reports it (the endpoint's ``Ref``; SageMaker
            writes the name in lower case there, so an ARN built from the name would not
            match), what ``sagemaker:InvokeEndpoint`` permissions name.
        variants: the production variants, in order.
        scalable_targets / alarms: by variant name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        variants: Sequence[Variant],
        encryption_key: kms.IKey,
        autoscaling: Autoscaling | None = None,
        alarms: Alarms | None = None,
        data_capture: DataCapture | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not variants:
            raise ValueError("an endpoint needs at least one production variant")
        names = [variant.name for variant in variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique; got {names}")
        self.variants = tuple(variants)
        instance_variants = [v for v in variants if v.serverless is None]
        # One variant on local NVMe storage makes CreateEndpointConfig refuse any KmsKeyId.
        needs_key = bool(instance_variants) and not any(
            v.uses_local_storage for v in instance_variants
        )
        capture = None
        if data_capture is not None:
            capture = sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=True,
                initial_sampling_percentage=data_capture.sampling_percentage,
                destination_s3_uri=data_capture.s3_uri,
                kms_key_id=data_capture.encryption_key.key_arn,
                capture_options=[
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
                ],
                capture_content_type_header=(
                    sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                        csv_content_types=["text/csv"]
                    )
                ),
            )
        self.config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[variant.to_cfn() for variant in variants],
            kms_key_id=encryption_key.key_arn if needs_key else None,
            data_capture_config=capture,
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_config_name=self.config.attr_endpoint_config_name,
            endpoint_name=self._scaled_name(variants) if autoscaling is not None else None,
        )
        self.endpoint_name = self.endpoint.attr_endpoint_name
        self.endpoint_arn = self.endpoint.ref
        self.scalable_targets: dict[str, appscaling.ScalableTarget] = {}
        self.alarms: dict[str, list[cloudwatch.Alarm]] = {}
        for variant in variants:
            if autoscaling is not None and variant.serverless is None:
                self.scalable_targets[variant.name] = self._scale(variant, autoscaling)
            if alarms is not None:
                self.alarms[variant.name] = self._alarm(variant, alarms)

    @classmethod
    def from_settings(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        variants: Sequence[Variant],
        settings: EndpointHostingSettings,
        encryption_key: kms.IKey,
        topic: sns.ITopic,
        data_capture: DataCapture | None = None,
    ) -> RealtimeEndpoint:
        """An endpoint whose every instance variant scales and alarms as ``settings`` say.

        Args:
            variants: the production variants (:meth:`Variant.from_settings` builds one).
            settings: the pattern's hosting settings (scaling bounds, target, cooldowns,
                latency threshold).
            encryption_key: see the class.
            topic: where the alarms go.
            data_capture: see the class. Default: ``None``.
        """
        return cls(
            scope,
            construct_id,
            variants=variants,
            encryption_key=encryption_key,
            autoscaling=Autoscaling.from_settings(settings),
            alarms=Alarms.from_settings(settings, topic),
            data_capture=data_capture,
        )

    def _scaled_name(self, variants: Sequence[Variant]) -> str:
        """A name that changes with each auto-scaled variant's name and instance type.

        SageMaker refuses to update an endpoint in place when an auto-scaled variant changes
        its instance type or goes ("Update endpoints that use auto scaling",
        https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). Such a
        change renames the endpoint, and CloudFormation replaces it instead: it creates the
        new endpoint and its scalable targets, then deletes the old ones. Other changes
        (models, weights, capacity bounds) keep the name and update in place.
        """
        scaled = sorted((v.name, v.instance_type) for v in variants if v.serverless is None)
        return stack_digest_name(self, scaled, max_length=ENDPOINT_NAME_MAX)

    def metric(self, metric_name: str, variant_name: str, statistic: str) -> cloudwatch.Metric:
        """A per-variant metric of the ``AWS/SageMaker`` namespace, by the minute."""
        return cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name=metric_name,
            dimensions_map={"EndpointName": self.endpoint_name, "VariantName": variant_name},
            statistic=statistic,
            period=cdk.Duration.minutes(1),
        )

    def _scaling_role(self) -> iam.IRole:
        existing = self.node.try_find_child("ScalingRole")
        if existing is not None:
            return existing  # type: ignore[return-value]
        arn = cdk.Stack.of(self).format_arn(
            service="iam", region="", resource="role", resource_name=SAGEMAKER_SCALING_ROLE
        )
        return iam.Role.from_role_arn(self, "ScalingRole", arn, mutable=False)

    def _scale(self, variant: Variant, autoscaling: Autoscaling) -> appscaling.ScalableTarget:
        target = appscaling.ScalableTarget(
            self,
            f"{variant.name}Scaling",
            role=self._scaling_role(),
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            scalable_dimension=SAGEMAKER_VARIANT_INSTANCE_COUNT,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{variant.name}",
            min_capacity=autoscaling.min_capacity,
            max_capacity=autoscaling.max_capacity,
        )
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=autoscaling.invocations_per_instance,
            predefined_metric=(
                appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE
            ),
            scale_in_cooldown=cdk.Duration.seconds(autoscaling.scale_in_cooldown_seconds),
            scale_out_cooldown=cdk.Duration.seconds(autoscaling.scale_out_cooldown_seconds),
        )
        return target

    def _alarm(self, variant: Variant, alarms: Alarms) -> list[cloudwatch.Alarm]:
        errors = cloudwatch.Alarm(
            self,
            f"{variant.name}Errors5xx",
            alarm_description=f"Variant {variant.name} returns 5xx errors",
            metric=self.metric("Invocation5XXErrors", variant.name, "Sum"),
            threshold=alarms.errors_5xx,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=alarms.evaluation_minutes,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        latency = cloudwatch.Alarm(
            self,
            f"{variant.name}ModelLatency",
            alarm_description=(
                f"Variant {variant.name}: average model latency above {alarms.model_latency_ms} ms"
            ),
            # SageMaker reports ModelLatency in microseconds.
            metric=self.metric("ModelLatency", variant.name, "Average"),
            threshold=alarms.model_latency_microseconds,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=alarms.evaluation_minutes,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(alarms.topic)
        for alarm in (errors, latency):
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        return [errors, latency]

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call InvokeEndpoint on this endpoint and nothing else."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:InvokeEndpoint"], resource_arns=[self.endpoint_arn]
        )

    def invoke_statement(self) -> iam.PolicyStatement:
        """The permission :meth:`grant_invoke` gives, for a customer-managed policy.

        ``grant_invoke`` writes the role's default policy, which the HIPAA, NIST and PCI
        packs count as an inline policy; a role that must have none attaches this
        statement through an ``iam.ManagedPolicy`` instead.
        """
        return iam.PolicyStatement(
            sid="InvokeThisEndpoint",
            actions=["sagemaker:InvokeEndpoint"],
            resources=[self.endpoint_arn],
        )
