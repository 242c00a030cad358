"""What the real-time endpoint patterns share: committed models behind one scaled endpoint.

Notes sections "Inference" and "SG Endpoint". ``multi-az-endpoint`` and ``ab-variants``
differ only in their production variants (one, or one per model version with weights);
everything else is this base class:

- a :class:`~ml_refarch.constructs.hosting.HostingFoundation` (key, isolated VPC in two or
  more zones without interface endpoints, execution role reading just the artifacts, alert
  topic),
- one network-isolated XGBoost model per committed artifact the variants serve, in the
  VPC's isolated subnets,
- a :class:`~ml_refarch.constructs.hosting.RealtimeEndpoint` whose every variant tracks
  invocations per instance between the configured bounds, with 5xx and model-latency alarms
  to the topic,
- the outputs the smoke checks read (names in ml_refarch/smoke/outputs.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from constructs import Construct

from ml_refarch.config import EndpointHostingSettings, Profile
from ml_refarch.constructs.hosting import (
    Container,
    HostedModel,
    HostingFoundation,
    ModelArtifact,
    RealtimeEndpoint,
    Variant,
    xgboost_image_uri,
)
from ml_refarch.smoke.endpoint import format_variant_models
from ml_refarch.smoke.outputs import EndpointOutputs
from ml_refarch.stacks.base import PatternStack


def construct_id_of(model_name: str) -> str:
    """``churn-v1`` -> ``ChurnV1``, for construct ids."""
    return "".join(part.title() for part in model_name.replace("_", "-").split("-"))


class EndpointPatternStack(PatternStack):
    """Base class of the stacks that host committed models on one real-time endpoint.

    Subclasses set :attr:`purpose` and implement :meth:`model_names` (which committed models
    to host) and :meth:`variants` (the production variants over those models).

    Attributes:
        settings: the pattern's settings.
        hosting: the foundation (``.key``, ``.network``, ``.role``, ``.topic``).
        artifacts / models: by model name.
        endpoint: the endpoint, its configuration, scalable targets and alarms.
    """

    #: A few words for descriptions ("multi-AZ endpoint").
    purpose: str = ""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: Profile,
        settings: EndpointHostingSettings,
        title: str,
        notes_section: str,
        env: cdk.Environment | None = None,
    ) -> None:
        super().__init__(
            scope, construct_id, profile=profile, title=title, notes_section=notes_section, env=env
        )
        self.settings = settings
        names = self.model_names(settings)
        self.artifacts = {
            name: ModelArtifact(self, f"Artifact{construct_id_of(name)}", model_name=name)
            for name in names
        }
        self.hosting = HostingFoundation(
            self,
            "Hosting",
            profile=profile,
            purpose=self.purpose,
            artifacts=list(self.artifacts.values()),
        )
        image = xgboost_image_uri(self)
        self.models = {
            name: HostedModel(
                self,
                f"Model{construct_id_of(name)}",
                role=self.hosting.role,
                containers=[Container(image=image, model_data_url=artifact.s3_url)],
                network=self.hosting.network,
            )
            for name, artifact in self.artifacts.items()
        }
        variants = self.variants(settings, self.models)
        self.endpoint = RealtimeEndpoint.from_settings(
            self,
            "Endpoint",
            variants=variants,
            settings=settings,
            encryption_key=self.hosting.key,
            topic=self.hosting.topic,
        )
        self.output(
            EndpointOutputs.ENDPOINT_NAME, self.endpoint.endpoint_name, "The real-time endpoint"
        )
        self.output(
            EndpointOutputs.ENDPOINT_ARN,
            self.endpoint.endpoint_arn,
            "What InvokeEndpoint grants name",
        )
        self.output(
            EndpointOutputs.VARIANT_MODELS,
            format_variant_models(
                {
                    variant.name: next(n for n, m in self.models.items() if m is variant.model)
                    for variant in variants
                }
            ),
            "Production variants and the committed model each serves",
        )
        self.output(
            EndpointOutputs.ALERT_TOPIC_ARN, self.hosting.topic.topic_arn, "5xx and latency alarms"
        )
        self.output(
            EndpointOutputs.KEY_ARN, self.hosting.key.key_arn, "Key of the volumes and the topic"
        )

    def model_names(self, settings: EndpointHostingSettings) -> Sequence[str]:
        """The committed models (``ml_refarch/assets/models``) the endpoint hosts."""
        raise NotImplementedError

    def variants(
        self, settings: EndpointHostingSettings, models: Mapping[str, HostedModel]
    ) -> list[Variant]:
        """The production variants over ``models`` (by model name)."""
        raise NotImplementedError
