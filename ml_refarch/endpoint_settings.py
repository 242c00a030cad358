"""Settings every real-time endpoint pattern shares: its variants' instances and scaling.

A pattern that hosts a model on instances subclasses :class:`EndpointHostingSettings`,
starts its fields with :func:`endpoint_fields` and its check with :func:`endpoint_problems`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ml_refarch.catalog import CostBand
from ml_refarch.settings import Field, Problem, instance_type, integer

#: Why an endpoint variant keeps two or more instances (notes, "Inference").
MULTI_AZ_REASON = (
    "SageMaker spreads a variant's instances across Availability Zones only when it has "
    "more than one instance"
)

#: The instances a variant runs on in the ``sandbox`` profile: the cheapest real-time
#: hosting type in the price table that auto scaling accepts. SageMaker does not auto scale
#: burstable (T2) instances ("Configure model auto scaling with the console",
#: https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-add-console.html),
#: and every endpoint pattern scales its variants (rule AS1); ``ml.c5.large`` is a
#: ProductionVariant instance type (API_ProductionVariant, InstanceType), multi-model
#: endpoints take every CPU instance type ("Supported algorithms, frameworks, and instances
#: for multi-model endpoints",
#: https://docs.aws.amazon.com/sagemaker/latest/dg/multi-model-support.html), and it has no
#: local storage, so the variant's volume key applies.
SANDBOX_INSTANCE_TYPE = "ml.c5.large"
#: The instances a variant runs on in production (and wherever no profile says otherwise).
INSTANCE_TYPE = "ml.m5.large"

#: Why a real-time endpoint stack costs more than the idle budget even in ``sandbox``; a
#: pattern's ``PATTERN.idle_cost_reason`` starts from this and its page says it.
ENDPOINT_IDLE_COST_REASON = (
    "each variant keeps at least two instances so that SageMaker spreads it over two "
    "Availability Zones (rule MZ1), and auto scaling (rule AS1) does not accept burstable "
    "T2 instances: the cheapest variant that keeps both rules is two ml.c5.large instances"
)

#: Idle cost of a stack whose only hourly cost is one variant of two instances and its key:
#: 2 x ml.c5.large + key in sandbox (about $150), 2 x ml.m5.large + key in production.
ONE_VARIANT_IDLE_BAND = CostBand(sandbox=(148, 151), production=(165, 172))


@dataclass(frozen=True)
class EndpointHostingSettings:
    """What a real-time endpoint pattern sets for each of its instance variants.

    Attributes:
        instance_type: the variant's instances (``ml.m5.large``).
        instance_count: instances each variant starts with (2 or more: see
            :data:`MULTI_AZ_REASON`).
        min_instance_count / max_instance_count: the bounds auto scaling keeps each variant
            in; the minimum is 2 or more for the same reason.
        target_invocations_per_instance: the invocations per instance per minute target
            tracking holds.
        scale_in_cooldown_seconds / scale_out_cooldown_seconds: the waits after a scaling
            activity before the next one in that direction.
        latency_alarm_ms: alarm when a variant's average model latency stays above this.
    """

    instance_type: str
    instance_count: int
    min_instance_count: int
    max_instance_count: int
    target_invocations_per_instance: int
    scale_in_cooldown_seconds: int
    scale_out_cooldown_seconds: int
    latency_alarm_ms: int


def endpoint_fields(**descriptions: str) -> dict[str, Field]:
    """The fields of :class:`EndpointHostingSettings`; ``descriptions`` replace the docs'
    default line of a field by name (``instance_type="Instances of the private endpoint"``)."""
    multi_az = f"at least 2: {MULTI_AZ_REASON}"
    fields = {
        "instance_type": Field(
            instance_type,
            INSTANCE_TYPE,
            "ml.c5.xlarge",
            "Instances of each variant",
            profile_defaults={"sandbox": SANDBOX_INSTANCE_TYPE},
        ),
        "instance_count": Field(
            integer(2, 100, multi_az),
            2,
            "3",
            "Instances each variant starts with, within the minimum and maximum below",
        ),
        "min_instance_count": Field(
            integer(2, 100, multi_az), 2, "2", "Auto scaling never goes below this"
        ),
        "max_instance_count": Field(
            integer(2, 100), 4, "6", "Auto scaling never goes above this (at least the minimum)"
        ),
        "target_invocations_per_instance": Field(
            integer(1, 100000, "invocations per instance per minute"),
            100,
            "200",
            "Invocations per instance per minute that target tracking holds",
        ),
        "scale_in_cooldown_seconds": Field(
            integer(0, 3600), 300, "600", "Wait after removing instances before removing more"
        ),
        "scale_out_cooldown_seconds": Field(
            integer(0, 3600), 60, "120", "Wait after adding instances before adding more"
        ),
        "latency_alarm_ms": Field(
            integer(1, 60000, "a real-time invocation times out after 60 s"),
            500,
            "250",
            "Alarm when average model latency stays above this for 5 minutes",
        ),
    }
    unknown = sorted(set(descriptions) - set(fields))
    if unknown:
        raise TypeError(f"no endpoint field {unknown}")
    for name, description in descriptions.items():
        fields[name] = replace(fields[name], description=description)
    return fields


def endpoint_problems(settings: EndpointHostingSettings, prefix: str) -> list[Problem]:
    """Auto scaling bounds that contradict each other or the starting instance count."""
    problems = []
    low, high = settings.min_instance_count, settings.max_instance_count
    if low > high:
        problems.append(
            Problem(
                key=prefix + "max_instance_count",
                received=high,
                allowed=f"at least {prefix}min_instance_count ({low})",
                fix="raise the maximum or lower the minimum",
            )
        )
    elif not low <= settings.instance_count <= high:
        problems.append(
            Problem(
                key=prefix + "instance_count",
                received=settings.instance_count,
                allowed=f"from {prefix}min_instance_count ({low}) to max_instance_count ({high})",
                fix="start the variant within the bounds auto scaling keeps it in",
            )
        )
    return problems
