"""The isolated-notebook stack's output names; the shared ones come from ``NotebookOutputs``."""

from __future__ import annotations

from ml_refarch.smoke.outputs import NotebookOutputs


class Outputs(NotebookOutputs):
    """The isolated-notebook stack's outputs."""

    NOTEBOOK_NAME = "NotebookName"
    LIFECYCLE_CONFIG_NAME = "LifecycleConfigName"
    NOTEBOOK_ENDPOINT_ID = "NotebookEndpointId"
