"""Settings of the ``multi-model-endpoint`` pattern: the instances every model shares."""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.endpoint_settings import (
    EndpointHostingSettings,
    endpoint_fields,
    endpoint_problems,
)
from ml_refarch.settings import SettingsSpec


@dataclass(frozen=True)
class MultiModelEndpointSettings(EndpointHostingSettings):
    """Settings of the ``multi-model-endpoint`` pattern: its one variant, whose instances
    every model under the prefix shares; see the base class."""


FIELDS = endpoint_fields(
    instance_type=(
        "Instances every model under the prefix shares (memory bounds how many stay loaded)"
    ),
    target_invocations_per_instance=(
        "Invocations per instance per minute (all models together) that target tracking holds"
    ),
)

NOTES = """\
The models themselves are not settings: the stack copies the committed artifacts under the
bucket's `models/` prefix, and any `.tar.gz` copied there later is served too (see
[the pattern page](patterns/multi-model-endpoint.md))."""

SETTINGS = SettingsSpec(
    cls=MultiModelEndpointSettings, fields=FIELDS, check=endpoint_problems, notes=NOTES
)
