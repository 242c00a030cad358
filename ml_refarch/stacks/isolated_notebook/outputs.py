"""The stack outputs of the isolated-notebook pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
The outputs shared with other patterns come from :class:`ml_refarch.smoke.outputs.NotebookOutputs`.
"""

from __future__ import annotations

from ml_refarch.smoke.outputs import NotebookOutputs


class Outputs(NotebookOutputs):
    """The isolated-notebook stack's outputs."""

    NOTEBOOK_NAME = "NotebookName"
    LIFECYCLE_CONFIG_NAME = "LifecycleConfigName"
    NOTEBOOK_ENDPOINT_ID = "NotebookEndpointId"
