"""What every ml-refarch stack shares: its description, tags and profile behaviour."""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any, ClassVar

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_refarch.catalog import Pattern
from ml_refarch.config import LOCAL_REGION, Profile
from ml_refarch.constructs.defaults import ResourceDefaults
from ml_refarch.constructs.encryption_key import customer_managed_key
from ml_refarch.constructs.log_group import encrypted_log_group
from ml_refarch.constructs.model_endpoint import ModelEndpoint
from ml_refarch.constructs.stack_expiry import StackExpiry
from ml_refarch.smoke.endpoint import format_variant_models
from ml_refarch.smoke.outputs import EndpointOutputs, PatternOutputs

#: The tags every resource of a pattern stack carries: the pattern id and the profile name.
PATTERN_TAG = "ml-refarch:pattern"
PROFILE_TAG = "ml-refarch:profile"

#: Availability Zones of a ``local``-target stack that is not pinned to a region.
LOCAL_ZONE_LETTERS = ("a", "b", "c")

#: The log retentions a profile may ask for, in CloudWatch Logs' own steps.
RETENTION_BY_DAYS = {
    7: logs.RetentionDays.ONE_WEEK,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def resource_defaults(profile: Profile) -> ResourceDefaults:
    """The props a profile gives every construct: the one place a profile becomes props."""
    return ResourceDefaults(
        removal_policy=(
            cdk.RemovalPolicy.RETAIN if profile.retain_data else cdk.RemovalPolicy.DESTROY
        ),
        versioned_buckets=profile.versioned_buckets,
        access_logs=profile.access_logs,
        log_retention=RETENTION_BY_DAYS[profile.log_retention_days],
        max_azs=profile.max_azs,
        interface_endpoint_azs=profile.interface_endpoint_azs,
        custom_resources=profile.custom_resources,
    )


class PatternStack(cdk.Stack):
    """Base class of the pattern stacks.

    Sets a CloudFormation description that names the pattern and its notes section, tags
    every resource with the pattern and profile, and turns on termination protection where
    the profile asks for it. Where the profile gives an expiry time (the sandbox, see
    :attr:`Profile.expires_at`), a :class:`StackExpiry` schedule deletes the stack then, and
    the ``ExpiresAt`` output says when.

    For the ``local`` target (the deploy rehearsal on moto) the stack names its
    Availability Zones instead of asking CloudFormation (``Fn::GetAZs``) and leaves out the
    bootstrap-version rule, whose SSM parameter a fresh stand-in does not have.

    A pattern's stack defines only :meth:`build`, which this constructor calls with the
    pattern's settings; the pattern (id, title, notes section) is the ``PATTERN`` of the
    stack class's package.

    Attributes:
        profile: the deployment profile (for stack-level choices such as a web ACL).
        settings: the pattern's settings.
        defaults: the profile as construct props (:func:`resource_defaults`).
    """

    #: The unit's catalog entry (its package's ``PATTERN``) and its id, set for each subclass.
    pattern: ClassVar[Pattern]
    pattern_id: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.pattern = importlib.import_module(cls.__module__.rpartition(".")[0]).PATTERN
        cls.pattern_id = cls.pattern.id

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: Profile,
        settings: Any,
        title: str | None = None,
        notes_section: str | None = None,
        env: cdk.Environment | None = None,
    ) -> None:
        pattern = self.pattern
        super().__init__(
            scope,
            construct_id,
            env=env,
            description=(
                f"ml-refarch pattern {pattern.id} ({profile.name} profile): "
                f"{pattern.title if title is None else title}. Study notes section: "
                f"{pattern.notes_section if notes_section is None else notes_section}."
            ),
            termination_protection=profile.termination_protection,
            synthesizer=(
                cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False)
                if profile.target == "local"
                else None
            ),
        )
        self.profile = profile
        self.settings = settings
        self.defaults = resource_defaults(profile)
        cdk.Tags.of(self).add(PATTERN_TAG, pattern.id)
        cdk.Tags.of(self).add(PROFILE_TAG, profile.name)
        self.build(settings)
        if profile.expires_at is not None:
            self.expire(profile.expires_at)

    @property
    def request_tags(self) -> list[dict[str, str]]:
        """The pattern tag as an API request's ``Tags``, for what a state machine creates
        outside the stack (CloudFormation's tags do not reach it)."""
        return [{"Key": PATTERN_TAG, "Value": self.pattern_id}]

    def arn_prefix(self, service: str) -> str:
        """``arn:<partition>:<service>:<region>:<account>``: the start of this stack's ARNs of
        ``service``, for resources it names rather than creates."""
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}"

    def data_key(self, purpose: str) -> kms.Key:
        """The stack's customer-managed key ``DataKey`` (CloudWatch Logs may use it too),
        described as ``<stack>: <purpose>``, removed as the profile says."""
        return customer_managed_key(
            self,
            "DataKey",
            description=f"{self.node.id}: {purpose}",
            removal_policy=self.defaults.removal_policy,
            allow_cloudwatch_logs=True,
        )

    def log_group(self, construct_id: str, encryption_key: kms.IKey) -> logs.LogGroup:
        """An encrypted log group (:func:`encrypted_log_group`) with the profile's retention
        and removal policy."""
        return encrypted_log_group(
            self,
            construct_id,
            encryption_key=encryption_key,
            **self.defaults.log_group_props(),
        )

    def expire(self, expires_at: datetime) -> StackExpiry:
        """Delete this stack at ``expires_at`` (UTC), and say when in ``ExpiresAt``."""
        expiry = StackExpiry(self, "SandboxExpiry", expires_at=expires_at)
        self.output(
            PatternOutputs.EXPIRES_AT,
            expiry.expires_at_text,
            "UTC time a one-time schedule deletes this sandbox stack; redeploy to restart "
            "the clock (-c sandbox_ttl_hours=N, 0 for never)",
        )
        return expiry

    def build(self, settings: Any) -> None:
        """Add the pattern's resources; ``self.profile`` and ``self.defaults`` are set."""
        raise NotImplementedError(f"{type(self).__name__} does not define build()")

    @property
    def availability_zones(self) -> list[str]:
        """The zones CDK spreads subnets over: named ones for the local target; in a stage
        (the delivery pipeline's, pinned to an account and region) the region's first
        zones as CloudFormation lists them (``Fn::GetAZs``), so the pipeline's synth needs
        no look-up (and no credentials), as for an environment-agnostic stack."""
        profile = getattr(self, "profile", None)
        stage = cdk.Stage.of(self)
        if profile is not None and stage is not None and stage.parent_stage is not None:
            zones = cdk.Fn.get_azs()
            return [cdk.Fn.select(index, zones) for index in range(profile.max_azs)]
        if profile is None or profile.target != "local":
            return super().availability_zones
        region = LOCAL_REGION if cdk.Token.is_unresolved(self.region) else self.region
        return [f"{region}{letter}" for letter in LOCAL_ZONE_LETTERS]

    def output(self, name: str, value: str, description: str) -> cdk.CfnOutput:
        """Add a stack output with a fixed logical id, so smoke checks can rely on it.

        ``name`` is one of the unit's ``outputs.Outputs`` constants, which the smoke checks
        and tests read too.
        """
        return cdk.CfnOutput(self, name, value=value, description=description)

    def endpoint_outputs(self, endpoint: ModelEndpoint) -> None:
        """The outputs every stack around one committed-model endpoint declares
        (:class:`~ml_refarch.smoke.outputs.EndpointOutputs`), which the endpoint smoke
        checks read."""
        foundation = endpoint.foundation
        self.output(EndpointOutputs.ENDPOINT_NAME, endpoint.endpoint_name, "The real-time endpoint")
        self.output(
            EndpointOutputs.ENDPOINT_ARN, endpoint.endpoint_arn, "What InvokeEndpoint grants name"
        )
        self.output(
            EndpointOutputs.VARIANT_MODELS,
            format_variant_models(endpoint.variant_models),
            "Production variants and the committed model each serves",
        )
        self.output(
            EndpointOutputs.ALERT_TOPIC_ARN, foundation.topic.topic_arn, "5xx and latency alarms"
        )
        self.output(
            EndpointOutputs.KEY_ARN, foundation.key.key_arn, "Key of the volumes and the topic"
        )
