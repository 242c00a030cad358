"""Settings of the ``inference-pipeline`` pattern: the real-time endpoint and batch transform."""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.aws_facts import PIPELINE_MAX_CONTAINERS, PIPELINE_MIN_CONTAINERS
from ml_refarch.endpoint_settings import (
    EndpointHostingSettings,
    endpoint_fields,
    endpoint_problems,
)
from ml_refarch.settings import (
    NO_SCHEDULE,
    Field,
    Problem,
    SettingsSpec,
    choice,
    eventbridge_schedule,
    instance_type,
    integer,
)

#: Batch transform limits: MaxPayloadInMB is at most 100, and so is its product with
#: MaxConcurrentTransforms (SageMaker API reference, CreateTransformJob:
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html).
TRANSFORM_MAX_PAYLOAD_MIB = 100


@dataclass(frozen=True)
class InferencePipelineSettings(EndpointHostingSettings):
    """Settings of the ``inference-pipeline`` pattern (the real-time endpoint's fields: see
    the base class; the chain of containers is fixed by the design).

    Attributes:
        transform_instance_type / transform_instance_count: the batch transform job's
            instances.
        batch_strategy: ``MultiRecord`` (as many records per request as fit the payload) or
            ``SingleRecord``.
        max_payload_mib: the largest request a transform instance sends the model (1-100).
        max_concurrent_transforms: parallel requests per transform instance; times
            ``max_payload_mib`` at most 100.
        schedule: when the whole ``input/`` prefix is transformed: an EventBridge
            ``rate(...)`` or ``cron(...)`` expression, or ``none`` (only uploads start runs).
    """

    transform_instance_type: str
    transform_instance_count: int
    batch_strategy: str
    max_payload_mib: int
    max_concurrent_transforms: int
    schedule: str

    @property
    def schedule_expression(self) -> str | None:
        """The EventBridge schedule, or ``None`` when there is none."""
        return None if self.schedule == NO_SCHEDULE else self.schedule


FIELDS = {
    **endpoint_fields(
        instance_type="Instances of the real-time endpoint (each runs all three containers)"
    ),
    "transform_instance_type": Field(
        instance_type, "ml.m5.large", "ml.c5.xlarge", "Instances of each batch transform job"
    ),
    "transform_instance_count": Field(
        integer(1, 100), 1, "2", "Instances of each batch transform job"
    ),
    "batch_strategy": Field(
        choice("multirecord", "singlerecord"),
        "multirecord",
        "singlerecord",
        "Records per request the transform sends the pipeline: as many as fit the payload, or one",
    ),
    "max_payload_mib": Field(
        integer(1, TRANSFORM_MAX_PAYLOAD_MIB, "batch transform requests are at most 100 MB"),
        6,
        "10",
        "Largest request a transform instance sends the pipeline",
    ),
    "max_concurrent_transforms": Field(
        integer(1, 100, "parallel requests per transform instance"),
        1,
        "2",
        "Parallel requests per transform instance (times `max_payload_mib` at most 100)",
    ),
    "schedule": Field(
        eventbridge_schedule,
        "rate(1 day)",
        "cron(0 3 * * ? *)",
        "When the whole `input/` prefix is transformed; uploads under `input/` always start a run",
    ),
}


def check(settings: InferencePipelineSettings, prefix: str) -> list[Problem]:
    """The endpoint's scaling bounds, and the transform's payload times its concurrency."""
    problems = endpoint_problems(settings, prefix)
    payload = settings.max_payload_mib * settings.max_concurrent_transforms
    if payload > TRANSFORM_MAX_PAYLOAD_MIB:
        problems.append(
            Problem(
                key=prefix + "max_concurrent_transforms",
                received=settings.max_concurrent_transforms,
                allowed=(
                    f"at most {TRANSFORM_MAX_PAYLOAD_MIB // settings.max_payload_mib}: "
                    f"times {prefix}max_payload_mib ({settings.max_payload_mib}) it must not "
                    f"exceed {TRANSFORM_MAX_PAYLOAD_MIB} MB (a CreateTransformJob limit)"
                ),
                fix="lower the concurrent transforms or the payload size",
            )
        )
    return problems


NOTES = f"""\
The chain of containers (preprocessing, XGBoost, postprocessing) is fixed by the design; the
stack still refuses a chain outside {PIPELINE_MIN_CONTAINERS} to {PIPELINE_MAX_CONTAINERS}
containers, the limits of a serial inference pipeline. `max_payload_mib` times
`max_concurrent_transforms` above {TRANSFORM_MAX_PAYLOAD_MIB} is rejected, as
CreateTransformJob rejects it."""

SETTINGS = SettingsSpec(cls=InferencePipelineSettings, fields=FIELDS, check=check, notes=NOTES)
