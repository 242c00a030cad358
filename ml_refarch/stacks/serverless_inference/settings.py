"""Settings of the ``serverless-inference`` pattern: the model, memory and concurrency."""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.aws_facts import SERVERLESS_MAX_CONCURRENCY, SERVERLESS_MEMORY_SIZES_MB
from ml_refarch.model_artifacts import RECIPES as MODEL_RECIPES
from ml_refarch.settings import Field, Problem, SettingsSpec, choice, integer, integer_in


@dataclass(frozen=True)
class ServerlessInferenceSettings:
    """Settings of the ``serverless-inference`` pattern.

    Attributes:
        model: which committed model the endpoint serves (``churn-v1``).
        memory_size_mb: memory of each serverless worker (compute scales with it).
        max_concurrency: the most invocations the endpoint serves at once (1-200).
        provisioned_concurrency: workers kept warm (billed while idle); 0 for none, else at
            most ``max_concurrency``.
    """

    model: str
    memory_size_mb: int
    max_concurrency: int
    provisioned_concurrency: int


_MEMORY_ALLOWED = (
    f"{', '.join(str(size) for size in SERVERLESS_MEMORY_SIZES_MB)} "
    "(MB: serverless memory comes in 1 GB steps from 1 GB to 6 GB)"
)

FIELDS = {
    "model": Field(
        choice(*(recipe.name for recipe in MODEL_RECIPES)),
        MODEL_RECIPES[0].name,
        "churn-v2",
        "Which committed model the endpoint serves",
    ),
    "memory_size_mb": Field(
        integer_in(SERVERLESS_MEMORY_SIZES_MB, _MEMORY_ALLOWED),
        2048,
        "3072",
        "Memory of each serverless worker; compute grows with it",
    ),
    "max_concurrency": Field(
        integer(1, SERVERLESS_MAX_CONCURRENCY, "concurrent invocations of one endpoint"),
        5,
        "20",
        "Invocations the endpoint serves at once; more are throttled",
    ),
    "provisioned_concurrency": Field(
        integer(0, SERVERLESS_MAX_CONCURRENCY, "0 for none, else at most max_concurrency"),
        0,
        "2",
        "Workers kept warm to avoid cold starts; **billed while configured, even with no traffic**",
    ),
}


def check(settings: ServerlessInferenceSettings, prefix: str) -> list[Problem]:
    """Warm workers count against the endpoint's concurrency."""
    if settings.provisioned_concurrency <= settings.max_concurrency:
        return []
    return [
        Problem(
            key=prefix + "provisioned_concurrency",
            received=settings.provisioned_concurrency,
            allowed=(
                f"0 (none) up to {prefix}max_concurrency ({settings.max_concurrency}): "
                "warm workers count against the endpoint's concurrency"
            ),
            fix="lower the provisioned concurrency or raise max_concurrency",
        )
    ]


NOTES = """\
With the default `provisioned_concurrency` of 0 the endpoint has no capacity of its own while
idle and costs nothing but its KMS key (see
[the pattern page](patterns/serverless-inference.md))."""

SETTINGS = SettingsSpec(cls=ServerlessInferenceSettings, fields=FIELDS, check=check, notes=NOTES)
