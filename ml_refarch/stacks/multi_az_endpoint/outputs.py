"""The stack outputs of the multi-az-endpoint pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
The outputs shared with other patterns come from :class:`ml_refarch.smoke.outputs.EndpointOutputs`.
"""

from __future__ import annotations

from ml_refarch.smoke.outputs import EndpointOutputs


class Outputs(EndpointOutputs):
    """The multi-az-endpoint stack's outputs."""
