"""Settings of the ``studio-domain`` pattern: the user profile and its JupyterLab packages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ml_refarch.lifecycle import PACKAGE_SOURCES
from ml_refarch.settings import Field, SettingsSpec, choice, matching, packages


@dataclass(frozen=True)
class StudioDomainSettings:
    """Settings of the ``studio-domain`` pattern.

    Attributes:
        user_profile_name: the Studio user profile the stack creates.
        package_source: as for the notebook pattern.
        packages: requirement specifiers the JupyterLab lifecycle configuration installs.
    """

    user_profile_name: str
    package_source: str
    packages: tuple[str, ...]


_PROFILE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


user_profile_name = matching(
    _PROFILE_NAME, "1-63 letters, digits and hyphens, starting and ending with a letter or digit"
)


FIELDS = {
    "user_profile_name": Field(
        user_profile_name, "data-scientist", "alice", "The user profile the stack creates"
    ),
    "package_source": Field(
        choice(*PACKAGE_SOURCES),
        "codeartifact",
        "s3-wheelhouse",
        "Where the JupyterLab lifecycle configuration installs packages from",
    ),
    "packages": Field(
        packages,
        "scikit-learn,xgboost",
        "scikit-learn,xgboost",
        "What it installs: comma-separated requirement specifiers",
    ),
}

SETTINGS = SettingsSpec(cls=StudioDomainSettings, fields=FIELDS)
