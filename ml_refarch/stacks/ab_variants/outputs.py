"""The ab-variants stack's output names; the shared ones come from ``EndpointOutputs``."""

from __future__ import annotations

from ml_refarch.smoke.outputs import EndpointOutputs


class Outputs(EndpointOutputs):
    """The ab-variants stack's outputs."""
