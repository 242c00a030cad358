"""One real-time endpoint for every pattern that hosts a model: foundation, models, endpoint.

Notes sections "Inference", "SG Endpoint" and "Security". Every stack that serves a model
on a real-time endpoint builds the same chain: the committed artifacts, a
:class:`HostingFoundation` (key, isolated VPC, execution role reading the artifacts, alert
topic), one :class:`~ml_refarch.constructs.hosting.HostedModel` per served model, and a
:class:`~ml_refarch.constructs.hosting.RealtimeEndpoint` whose instance variants scale and
alarm as the pattern's hosting settings say. :class:`ModelEndpoint` is that chain after the
foundation, and it keeps the mapping from each production variant to the model it serves
(what the ``VariantModels`` outputs and smoke checks read).

The foundation stays its own construct because stacks put things between it and the
models: a bucket under the foundation's key that a model loads from (multi-model) or an
endpoint captures to (Model Monitor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IDependable

from ml_refarch.constructs.defaults import ResourceDefaults
from ml_refarch.constructs.encryption_key import customer_managed_key
from ml_refarch.constructs.execution_role import SageMakerExecutionRole
from ml_refarch.constructs.hosting import (
    Alarms,
    Autoscaling,
    Container,
    DataCapture,
    HostedModel,
    ModelArtifact,
    RealtimeEndpoint,
    Serverless,
    Variant,
    xgboost_image_uri,
)
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.endpoint_settings import EndpointHostingSettings

#: The name SageMaker's own examples give an endpoint's only production variant.
ALL_TRAFFIC = "AllTraffic"


def construct_id_of(model_name: str) -> str:
    """``churn-v1`` -> ``ChurnV1``, for construct ids."""
    return "".join(part.title() for part in model_name.replace("_", "-").split("-"))


def committed_artifacts(scope: Construct, model_names: Sequence[str]) -> dict[str, ModelArtifact]:
    """A :class:`ModelArtifact` per committed model, as ``Artifact<Name>`` (``ArtifactChurnV1``)."""
    return {
        name: ModelArtifact(scope, f"Artifact{construct_id_of(name)}", model_name=name)
        for name in model_names
    }


@dataclass(frozen=True)
class ServedModel:
    """A model the endpoint serves, described before it exists.

    Attributes:
        name: what the variant-to-model mapping calls it (a committed model's manifest name,
            ``churn-v1``, or a name of the stack's choosing).
        containers: one container, or the steps of an inference pipeline in order.
        construct_id: the id of its :class:`HostedModel`. Default: ``Model``.
        network_isolation: see :class:`HostedModel`. Default: true.
    """

    name: str
    containers: Sequence[Container]
    construct_id: str = "Model"
    network_isolation: bool = True

    @classmethod
    def xgboost(
        cls,
        scope: Construct,
        artifact: ModelArtifact,
        *,
        construct_id: str = "Model",
        network_isolation: bool = True,
    ) -> ServedModel:
        """A committed XGBoost artifact in the XGBoost inference image of ``scope``'s region,
        named after the artifact's model (``churn-v1``)."""
        return cls(
            name=artifact.model_name,
            containers=(Container(image=xgboost_image_uri(scope), model_data_url=artifact.s3_url),),
            construct_id=construct_id,
            network_isolation=network_isolation,
        )


@dataclass(frozen=True)
class ServedVariant:
    """A production variant, naming the served model it routes to.

    Attributes:
        model: the :attr:`ServedModel.name` it serves.
        name: the variant name. Default: :data:`ALL_TRAFFIC`.
        initial_weight: its share of traffic relative to the other variants. Default: 1.
        serverless: serverless capacity. Default: ``None``, the instance type and count of
            the endpoint's hosting settings.
    """

    model: str
    name: str = ALL_TRAFFIC
    initial_weight: float = 1.0
    serverless: Serverless | None = None


class AlertTopic(Construct):
    """A KMS-encrypted SNS topic that CloudWatch alarms (and other services) may publish to.

    An encrypted topic only receives what its publisher may encrypt: the key policy admits
    each publishing service (``cloudwatch.amazonaws.com`` always), limited to this account.
    The topic policy (TLS only) replaces SNS's default policy, so it also allows each
    publishing service to publish, from this account only.

    Args:
        encryption_key: the topic's key.
        display_name: shown in notifications.
        publishing_services: further service principals that publish (e.g.
            ``events.amazonaws.com``). Default: CloudWatch only.

    Attributes:
        topic: the SNS topic (TLS-only policy).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        display_name: str,
        publishing_services: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.topic = sns.Topic(
            self, "Topic", display_name=display_name, master_key=encryption_key, enforce_ssl=True
        )
        services = ["cloudwatch.amazonaws.com", *publishing_services]
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublishFromServices",
                principals=[iam.ServicePrincipal(service) for service in services],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"PublishTo{stack.get_logical_id(self.topic.node.default_child)}",
                principals=[iam.ServicePrincipal(service) for service in services],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )


class HostingFoundation(Construct):
    """What every inference stack starts from: a key, an isolated VPC, a role, an alert topic.

    The VPC has no interface endpoints: hosted models reach S3 through the free gateway
    endpoint, and SageMaker pulls images and ships logs on its own side. A pattern that runs
    something else in the VPC passes the services it needs.

    Args:
        defaults: removal of the key and logs, log retention, the VPC's zones.
        purpose: a few words for descriptions ("multi-AZ endpoint").
        artifacts: the artifacts the role may read. Default: none.
        data_bucket: a bucket the role reads and writes (captures, batch outputs). Default:
            none.
        interface_endpoints: see :class:`IsolatedVpc`'s ``services``. Default: none.
        extra_statements: further permissions of the role, after the artifacts'. Default:
            none.
        network: build the isolated VPC. Default: true. Serverless endpoints cannot run
            in a VPC, so a stack that hosts only serverless variants passes false and
            gets no VPC, subnets or flow logs it would never use.

    Attributes:
        key: the stack's customer-managed key (volumes, topic, logs).
        network: the isolated VPC, or ``None`` when built with ``network=False``.
        role: the SageMaker execution role.
        role_policy: the role's managed policy, for permissions on resources created
            after the foundation (a bucket encrypted with :attr:`key`, say).
        topic: the alert topic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: ResourceDefaults,
        purpose: str,
        artifacts: Sequence[ModelArtifact] = (),
        data_bucket: s3.IBucket | None = None,
        interface_endpoints: Mapping[str, object] | None = None,
        extra_statements: Sequence[iam.PolicyStatement] = (),
        network: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = customer_managed_key(
            self,
            "Key",
            description=f"ml-refarch {purpose}",
            removal_policy=defaults.removal_policy,
            allow_cloudwatch_logs=True,
        )
        self.network: IsolatedVpc | None = None
        if network:
            self.network = IsolatedVpc(
                self,
                "Network",
                **defaults.vpc_props(),
                encryption_key=self.key,
                services=dict(interface_endpoints or {}),
            )
        execution_role = SageMakerExecutionRole(
            self,
            "ExecutionRole",
            data_bucket=data_bucket,
            encryption_key=self.key,
            description=f"Models of the {purpose}",
            extra_statements=[artifact.read_statement() for artifact in artifacts]
            + list(extra_statements),
        )
        self.role = execution_role.role
        self.role_policy = execution_role.policy
        self.topic = AlertTopic(
            self, "Alerts", encryption_key=self.key, display_name=f"ml-refarch {purpose} alarms"
        ).topic


class ModelEndpoint(Construct):
    """Served models behind one real-time endpoint, scaled and alarmed, on a foundation.

    The models run in the foundation's VPC (when it has one) as its execution role; the
    endpoint's instance volumes use its key and the alarms go to its topic.

    CDK leaves a construct id of ``Default`` out of logical ids (``HIDDEN_ID`` in
    aws-cdk-lib's ``core/lib/private/uniqueid.ts``): the stacks create this construct as
    ``Default``, so its models and endpoint keep the logical ids they had as the stack's
    own children, and a stack holds at most one.

    Args:
        foundation: key, network, role and topic.
        models: the served models (unique names and construct ids).
        variants: the production variants over them. Default: one :data:`ALL_TRAFFIC`
            variant over the only model.
        hosting: the pattern's hosting settings: every instance variant runs on its
            instance type and count, scales between its bounds on invocations per instance
            with its cooldowns, and alarms above its latency. Default: ``None``, for
            serverless-only endpoints: no scaling, alarms at :class:`Alarms`' defaults.
        data_capture: capture requests and responses. Default: ``None``.
        models_wait_for: what the models depend on, such as the role's managed policy
            when it grants reads added after the foundation (SageMaker checks the role can
            read the artifacts when it creates a model). Default: nothing.

    Attributes:
        foundation: the foundation it was given.
        models: the :class:`HostedModel` per served model name.
        endpoint: the :class:`RealtimeEndpoint` (configuration, endpoint, scalable targets,
            alarms).
        variant_models: ``{variant name: served model name}``, in variant order.
        endpoint_name / endpoint_arn: the endpoint's.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: HostingFoundation,
        models: Sequence[ServedModel],
        variants: Sequence[ServedVariant] | None = None,
        hosting: EndpointHostingSettings | None = None,
        data_capture: DataCapture | None = None,
        models_wait_for: Sequence[IDependable] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.foundation = foundation
        names = [model.name for model in models]
        if not models or len(set(names)) != len(names):
            raise ValueError(f"an endpoint serves one or more uniquely named models; got {names}")
        if variants is None:
            if len(models) != 1:
                raise ValueError("name the variants of an endpoint that serves several models")
            variants = [ServedVariant(model=models[0].name)]
        unknown = sorted({v.model for v in variants} - set(names))
        if unknown:
            raise ValueError(f"variants serve models the endpoint lacks: {unknown}")
        if hosting is None and any(v.serverless is None for v in variants):
            raise ValueError("instance variants need hosting settings (instance type, scaling)")
        self.models: dict[str, HostedModel] = {}
        for served in models:
            model = HostedModel(
                self,
                served.construct_id,
                role=foundation.role,
                containers=served.containers,
                network=foundation.network,
                network_isolation=served.network_isolation,
            )
            for dependency in models_wait_for:
                model.model.node.add_dependency(dependency)
            self.models[served.name] = model
        self.variant_models = {variant.name: variant.model for variant in variants}
        self.endpoint = RealtimeEndpoint(
            self,
            "Endpoint",
            variants=[self._variant(variant, hosting) for variant in variants],
            encryption_key=foundation.key,
            autoscaling=Autoscaling.from_settings(hosting) if hosting else None,
            alarms=(
                Alarms.from_settings(hosting, foundation.topic)
                if hosting
                else Alarms(topic=foundation.topic)
            ),
            data_capture=data_capture,
        )
        self.endpoint_name = self.endpoint.endpoint_name
        self.endpoint_arn = self.endpoint.endpoint_arn

    def _variant(self, variant: ServedVariant, hosting: EndpointHostingSettings | None) -> Variant:
        model = self.models[variant.model]
        if variant.serverless is not None or hosting is None:
            return Variant(
                name=variant.name,
                model=model,
                initial_weight=variant.initial_weight,
                serverless=variant.serverless,
            )
        return Variant.from_settings(
            variant.name, model, hosting, initial_weight=variant.initial_weight
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call InvokeEndpoint on this endpoint and nothing else."""
        return self.endpoint.grant_invoke(grantee)


def committed_model_endpoint(
    scope: Construct,
    *,
    defaults: ResourceDefaults,
    purpose: str,
    variants: Sequence[ServedVariant],
    hosting: EndpointHostingSettings,
) -> ModelEndpoint:
    """Committed XGBoost models behind one endpoint, on a foundation of their own.

    Builds, in ``scope``: one artifact per model the variants serve (``Artifact<Name>``), the
    foundation (``Hosting``, its role reading just those artifacts) and the endpoint
    (``Default``, one model ``Model<Name>`` per artifact).

    Args:
        defaults: see :class:`HostingFoundation`.
        purpose: a few words for descriptions ("multi-AZ endpoint").
        variants: the production variants; each names a committed model.
        hosting: see :class:`ModelEndpoint`.
    """
    names = list(dict.fromkeys(variant.model for variant in variants))
    artifacts = committed_artifacts(scope, names)
    foundation = HostingFoundation(
        scope,
        "Hosting",
        defaults=defaults,
        purpose=purpose,
        artifacts=list(artifacts.values()),
    )
    return ModelEndpoint(
        scope,
        "Default",
        foundation=foundation,
        models=[
            ServedModel.xgboost(scope, artifact, construct_id=f"Model{construct_id_of(name)}")
            for name, artifact in artifacts.items()
        ],
        variants=variants,
        hosting=hosting,
    )
