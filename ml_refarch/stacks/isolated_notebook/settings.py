"""Settings of the ``isolated-notebook`` pattern: the notebook instance and its packages."""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.lifecycle import PACKAGE_SOURCES
from ml_refarch.settings import Field, SettingsSpec, choice, instance_type, integer, packages


@dataclass(frozen=True)
class IsolatedNotebookSettings:
    """Settings of the ``isolated-notebook`` pattern.

    Attributes:
        instance_type: the notebook instance type (``ml.t3.medium``).
        volume_size_gib: the notebook's ML storage volume (5 GiB to 16384 GiB).
        package_source: ``codeartifact`` (a CodeArtifact repository with a PyPI upstream,
            reached through VPC endpoints) or ``s3-wheelhouse`` (wheels synced from the data
            bucket's ``wheelhouse/`` prefix).
        packages: requirement specifiers the lifecycle configuration installs.
    """

    instance_type: str
    volume_size_gib: int
    package_source: str
    packages: tuple[str, ...]


FIELDS = {
    "instance_type": Field(instance_type, "ml.t3.medium", "ml.t3.large", "Notebook instance type"),
    "volume_size_gib": Field(
        integer(5, 16384, "notebook ML storage volumes range from 5 GiB to 16 TiB"),
        5,
        "20",
        "The notebook's ML storage volume",
    ),
    "package_source": Field(
        choice(*PACKAGE_SOURCES),
        "codeartifact",
        "s3-wheelhouse",
        "Where the lifecycle configuration installs packages from",
    ),
    "packages": Field(packages, "scikit-learn,xgboost", "scikit-learn,xgboost", "What it installs"),
}

NOTES = """\
Requirement specifiers are a package name with optional extras and version bounds
(`scikit-learn==1.5.2`, `pandas[parquet]>=2`). On the command line commas separate packages,
so a bound with several clauses (`xgboost>=2,<3`) goes in `cdk.json` as a JSON list:
`"isolated-notebook.packages": ["scikit-learn==1.5.2", "xgboost>=2,<3"]`. URLs, paths,
spaces and shell characters are refused: the list ends up in a shell script."""

SETTINGS = SettingsSpec(cls=IsolatedNotebookSettings, fields=FIELDS, notes=NOTES)
