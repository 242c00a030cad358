"""Pattern ``serverless-inference``: an endpoint with a serverless variant, no instances.

Notes section "Serverless inference": a serverless endpoint suits infrequent or
unpredictable traffic, because it scales down to zero when no requests come; you give it
the container, a memory size and a concurrency. Resources:

- one committed XGBoost model (``serverless-inference.model``) as a file asset, served by
  a SageMaker model outside any VPC and without network isolation (serverless endpoints
  support neither),
- an endpoint configuration with one serverless variant: memory size (1024-6144 MB in
  1024 MB steps), max concurrency (1-200) and, optionally, provisioned concurrency (warm
  workers, never above max concurrency),
- the endpoint, with 5xx and model-latency alarms to a KMS-encrypted SNS topic,
- a customer-managed key (topic) and the execution role. No VPC: nothing here runs in one.

Idle, nothing is billed but the key: there are no instances. Provisioned concurrency is
the exception, billed while configured.
"""

from __future__ import annotations

from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs.hosting import ModelArtifact, Serverless
from ml_refarch.constructs.model_endpoint import (
    HostingFoundation,
    ModelEndpoint,
    ServedModel,
    ServedVariant,
)
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.serverless_inference.outputs import Outputs
from ml_refarch.stacks.serverless_inference.settings import ServerlessInferenceSettings

VARIANT_NAME = "Serverless"


class ServerlessInferenceStack(PatternStack):
    """A serverless endpoint serving one committed model.

    Attributes:
        foundation: key, role and alert topic (no VPC).
        artifact: the served model's artifact.
        model: the hosted model.
        endpoint: the endpoint configuration and endpoint.
    """

    def build(self, settings: ServerlessInferenceSettings) -> None:
        self.artifact = ModelArtifact(self, "Artifact", model_name=settings.model)
        self.foundation = HostingFoundation(
            self,
            "Hosting",
            defaults=self.defaults,
            purpose="serverless endpoint",
            artifacts=[self.artifact],
            # Serverless endpoints cannot be placed in a VPC: an isolated one would only cost
            # flow logs and add resources nothing uses.
            network=False,
        )
        provisioned = settings.provisioned_concurrency or None
        hosted = ModelEndpoint(
            self,
            "Default",
            foundation=self.foundation,
            models=[ServedModel.xgboost(self, self.artifact, network_isolation=False)],
            variants=[
                ServedVariant(
                    model=settings.model,
                    name=VARIANT_NAME,
                    serverless=Serverless(
                        memory_size_mb=settings.memory_size_mb,
                        max_concurrency=settings.max_concurrency,
                        provisioned_concurrency=provisioned,
                    ),
                )
            ],
        )
        self.model = hosted.models[settings.model]
        self.endpoint = hosted.endpoint
        acknowledge(
            self.model.model,
            "Serverless endpoints support neither network isolation nor a VPC configuration "
            "(CreateEndpoint rejects a model with either); this model serves only a "
            "serverless variant, and the execution role can read nothing but its artifact.",
            "MLS-MD1",
            checkov=("CKV_AWS_370",),
        )
        acknowledge(
            self.endpoint.config,
            "KmsKeyId encrypts the ML storage volume of an endpoint's instances; this "
            "configuration has only a serverless variant, which runs on no instance and "
            "attaches no volume, so there is nothing for the key to encrypt.",
            controls.ENDPOINT_CONFIG_KMS,
        )
        self.output(Outputs.ENDPOINT_NAME, self.endpoint.endpoint_name, "The serverless endpoint")
        self.output(Outputs.VARIANT_NAME, VARIANT_NAME, "Its one (serverless) variant")
        self.output(Outputs.MODEL_NAME, settings.model, "Committed model it serves (manifest name)")
        self.output(
            Outputs.ALARM_TOPIC_ARN, self.foundation.topic.topic_arn, "Alarms (subscribe here)"
        )
