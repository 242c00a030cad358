"""Settings of the ``ab-variants`` pattern: the variants' instances and starting weights."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ml_refarch.endpoint_settings import (
    EndpointHostingSettings,
    endpoint_fields,
    endpoint_problems,
)
from ml_refarch.model_artifacts import RECIPES as MODEL_RECIPES
from ml_refarch.settings import Field, Invalid, SettingsSpec, parser


@dataclass(frozen=True)
class AbVariantsSettings(EndpointHostingSettings):
    """Settings of the ``ab-variants`` pattern.

    Attributes:
        weights: one initial weight per production variant, in the order of the committed
            model versions (``churn-v1``, ``churn-v2``); each variant's share of traffic is
            its weight over their sum. The other fields apply to every variant.
    """

    weights: tuple[float, ...]


_VERSIONS = len(MODEL_RECIPES)
_WEIGHTS_ALLOWED = (
    f"{'2' if _VERSIONS == 2 else f'2 to {_VERSIONS}'} comma-separated weights above 0, one per "
    f"committed model version ({', '.join(recipe.name for recipe in MODEL_RECIPES)}, in that "
    "order), e.g. '0.9,0.1'"
)


@parser(_WEIGHTS_ALLOWED)
def variant_weights(value: Any) -> tuple[float, ...]:
    if isinstance(value, str):
        items: list[Any] = [item.strip() for item in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise Invalid(_WEIGHTS_ALLOWED)
    weights = []
    for item in items:
        if isinstance(item, bool):
            raise Invalid(_WEIGHTS_ALLOWED)
        try:
            weight = float(item)
        except (TypeError, ValueError):
            raise Invalid(_WEIGHTS_ALLOWED) from None
        if not math.isfinite(weight) or weight <= 0:
            raise Invalid(_WEIGHTS_ALLOWED)
        weights.append(weight)
    if not 2 <= len(weights) <= _VERSIONS:
        raise Invalid(_WEIGHTS_ALLOWED)
    return tuple(weights)


FIELDS = {
    "weights": Field(
        variant_weights,
        "0.9,0.1",
        "0.5,0.5",
        "Initial weights of the variants (each gets weight / sum of the traffic)",
    ),
    **endpoint_fields(),
}

NOTES = f"""\
The weights are only the starting split: shift traffic on the running endpoint with
`UpdateEndpointWeightsAndCapacities` (see [the pattern page](patterns/ab-variants.md)).
There are as many weights as variants, and no more than the models in
`ml_refarch/assets/models/` ({_VERSIONS})."""

SETTINGS = SettingsSpec(cls=AbVariantsSettings, fields=FIELDS, check=endpoint_problems, notes=NOTES)
