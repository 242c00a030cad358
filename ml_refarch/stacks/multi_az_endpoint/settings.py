"""Settings of the ``multi-az-endpoint`` pattern: its one variant's instances and scaling."""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.endpoint_settings import (
    MULTI_AZ_REASON,
    EndpointHostingSettings,
    endpoint_fields,
    endpoint_problems,
)
from ml_refarch.settings import SettingsSpec


@dataclass(frozen=True)
class MultiAzEndpointSettings(EndpointHostingSettings):
    """Settings of the ``multi-az-endpoint`` pattern: one variant, see the base class."""


FIELDS = endpoint_fields(instance_type="Instances of the endpoint's one variant")

NOTES = f"""\
An instance count or minimum below 2 is rejected: {MULTI_AZ_REASON}."""

SETTINGS = SettingsSpec(
    cls=MultiAzEndpointSettings, fields=FIELDS, check=endpoint_problems, notes=NOTES
)
