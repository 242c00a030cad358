"""The stack outputs of the studio-domain pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
The outputs shared with other patterns come from :class:`ml_refarch.smoke.outputs.NotebookOutputs`.
"""

from __future__ import annotations

from ml_refarch.smoke.outputs import NotebookOutputs


class Outputs(NotebookOutputs):
    """The studio-domain stack's outputs."""

    DOMAIN_ID = "DomainId"
    DOMAIN_URL = "DomainUrl"
    USER_PROFILE_NAME = "UserProfileName"
    HOME_EFS_ID = "HomeEfsId"
    LIFECYCLE_CONFIG_ARN = "LifecycleConfigArn"
