"""The studio-domain stack's output names; the shared ones come from ``NotebookOutputs``."""

from __future__ import annotations

from ml_refarch.smoke.outputs import NotebookOutputs


class Outputs(NotebookOutputs):
    """The studio-domain stack's outputs."""

    DOMAIN_ID = "DomainId"
    DOMAIN_URL = "DomainUrl"
    USER_PROFILE_NAME = "UserProfileName"
    HOME_EFS_ID = "HomeEfsId"
    LIFECYCLE_CONFIG_ARN = "LifecycleConfigArn"
