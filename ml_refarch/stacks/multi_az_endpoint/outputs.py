"""The multi-az-endpoint stack's output names; the shared ones come from ``EndpointOutputs``."""

from __future__ import annotations

from ml_refarch.smoke.outputs import EndpointOutputs


class Outputs(EndpointOutputs):
    """The multi-az-endpoint stack's outputs."""
