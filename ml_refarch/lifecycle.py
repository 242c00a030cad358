"""The package-installing lifecycle script of the SageMaker notebook patterns.

Notes sections: "Sagemaker notebook" (a lifecycle configuration installs libraries when a
notebook is created or started) and "Security" (a notebook without internet access reaches AWS
through VPC endpoints only). The script, ``assets/lifecycle/install_packages.sh``, installs
packages from a CodeArtifact repository or from a wheelhouse in S3, on a notebook instance or in
a Studio JupyterLab app. :func:`render_script` puts the settings in front of it as shell
assignments; a stack passes the result through ``aws_cdk.Fn.base64`` into a lifecycle config.

Settings may be CDK tokens (``Aws.REGION``, ``Aws.ACCOUNT_ID``): they are quoted like any other
value, and CDK replaces them inside the Fn::Join it builds for the script; format checks skip them.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from ml_refarch.aws_facts import ACCOUNT_ID, REGION_NAME, S3_URI

#: The script body, a plain data file next to this package's code.
SCRIPT_PATH = Path(__file__).parent / "assets" / "lifecycle" / "install_packages.sh"

#: SageMaker's limit on a lifecycle script's ``Content``, which is the base64 encoding of the
#: script (notebook instance and Studio alike). The script itself may thus have at most
#: 3/4 of this many bytes (12288).
MAX_SCRIPT_BYTES = 16384

TARGETS = ("notebook-instance", "studio")
PACKAGE_SOURCES = ("codeartifact", "s3-wheelhouse")

# The same formats install_packages.sh checks at run time (as do aws_facts.ACCOUNT_ID,
# REGION_NAME and S3_URI, which other layers share).
_CODEARTIFACT_DOMAIN = re.compile(r"[a-z][a-z0-9-]{0,48}[a-z0-9]")
_CODEARTIFACT_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,99}")

# A requirement specifier without environment markers or URLs: name, optional extras, optional
# comma-separated version clauses. No whitespace, so the shell can split PACKAGES on it.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_CLAUSE = r"(?:===|==|!=|~=|<=|>=|<|>)[A-Za-z0-9*+!_.-]+"
_REQUIREMENT = re.compile(rf"{_NAME}(?:\[{_NAME}(?:,{_NAME})*\])?(?:{_CLAUSE}(?:,{_CLAUSE})*)?")


def _is_token(value: str) -> bool:
    # CDK encodes a deploy-time value in a string as "${Token[...]}"; checking for the marker
    # keeps this module free of aws_cdk, whose start-up costs every command that imports it.
    return "${Token[" in value


def check_requirement(spec: str) -> None:
    """Raise ``ValueError`` unless ``spec`` is a plain requirement specifier.

    Plain means a name, optional extras and version clauses (``pandas[parquet]>=2,<3``):
    nothing pip would read as an option, a URL or a path, and nothing a shell would expand.
    """
    if not isinstance(spec, str) or not _REQUIREMENT.fullmatch(spec):
        raise ValueError(f"{spec!r} is not a plain requirement specifier such as 'xgboost>=2,<3'")


def render_script(
    *,
    target: str,
    package_source: str,
    region: str,
    packages: Sequence[str],
    codeartifact_domain: str | None = None,
    codeartifact_domain_owner: str | None = None,
    codeartifact_repository: str | None = None,
    wheelhouse_s3_uri: str | None = None,
) -> str:
    """The lifecycle script that installs ``packages`` on ``target`` from ``package_source``.

    Args:
        target: ``notebook-instance`` (OnCreate/OnStart of a notebook instance; installs into
            the ``python3`` conda environment as ec2-user, in the background) or ``studio``
            (a Studio JupyterLab app; installs as sagemaker-user, synchronously).
        package_source: ``codeartifact`` (the three ``codeartifact_*`` arguments are required)
            or ``s3-wheelhouse`` (``wheelhouse_s3_uri`` is required). The other source's
            arguments must be left out.
        region: the region of the CLI calls and of the CodeArtifact domain.
        packages: requirement specifiers such as ``scikit-learn==1.5.2`` or ``xgboost>=2,<3``.

    Raises:
        ValueError: listing every invalid argument, or when the base64-encoded script would
            exceed :data:`MAX_SCRIPT_BYTES`.
    """
    source_settings = {
        "codeartifact_domain": codeartifact_domain,
        "codeartifact_domain_owner": codeartifact_domain_owner,
        "codeartifact_repository": codeartifact_repository,
        "wheelhouse_s3_uri": wheelhouse_s3_uri,
    }
    problems = _problems(target, package_source, region, packages, source_settings)
    if problems:
        raise ValueError(
            "invalid lifecycle script settings:\n" + "\n".join(f"  - {p}" for p in problems)
        )

    settings = {
        "TARGET": target,
        "PACKAGE_SOURCE": package_source,
        "AWS_REGION": region,
        "CODEARTIFACT_DOMAIN": codeartifact_domain or "",
        "CODEARTIFACT_DOMAIN_OWNER": codeartifact_domain_owner or "",
        "CODEARTIFACT_REPOSITORY": codeartifact_repository or "",
        "WHEELHOUSE_S3_URI": wheelhouse_s3_uri or "",
        "PACKAGES": " ".join(packages),
    }
    header = ["#!/bin/bash", "# Settings rendered by ml_refarch.lifecycle.render_script."]
    header += [f"{name}={shlex.quote(value)}" for name, value in settings.items()]
    body = SCRIPT_PATH.read_text()
    if body.startswith("#!"):
        body = body.split("\n", 1)[1]
    script = "\n".join(header) + "\n\n" + body

    content_bytes = len(base64.b64encode(script.encode()))
    if content_bytes > MAX_SCRIPT_BYTES:
        raise ValueError(
            f"the lifecycle script is {content_bytes} bytes once base64-encoded; SageMaker "
            f"accepts at most {MAX_SCRIPT_BYTES}. Install fewer packages, or list them in a "
            "wheelhouse and install a single meta-package."
        )
    return script


def _problems(
    target: str,
    package_source: str,
    region: str,
    packages: Sequence[str],
    source_settings: dict[str, str | None],
) -> list[str]:
    problems = []

    def check(name: str, value: str | None, pattern: re.Pattern[str], allowed: str) -> None:
        if not value:
            problems.append(f"{name}: missing; allowed: {allowed}")
        elif not _is_token(value) and not pattern.fullmatch(value):
            problems.append(f"{name}: received {value!r}; allowed: {allowed}")

    if target not in TARGETS:
        problems.append(f"target: received {target!r}; allowed: {' or '.join(TARGETS)}")
    check("region", region, REGION_NAME, "a region name such as us-east-1")

    required = {
        "codeartifact": {
            "codeartifact_domain": (_CODEARTIFACT_DOMAIN, "2-50 lowercase letters, digits, '-'"),
            "codeartifact_domain_owner": (ACCOUNT_ID, "a 12-digit account id"),
            "codeartifact_repository": (_CODEARTIFACT_REPOSITORY, "2-100 letters, digits, '._-'"),
        },
        "s3-wheelhouse": {"wheelhouse_s3_uri": (S3_URI, "an s3://bucket/prefix URI")},
    }.get(package_source)
    if required is None:
        allowed = " or ".join(PACKAGE_SOURCES)
        problems.append(f"package_source: received {package_source!r}; allowed: {allowed}")
    else:
        for name, value in source_settings.items():
            if name in required:
                check(name, value, *required[name])
            elif value is not None:
                problems.append(
                    f"{name}: received {value!r}; allowed: nothing with "
                    f"package_source={package_source!r}"
                )

    if isinstance(packages, str):
        problems.append(f"packages: received the string {packages!r}; allowed: a list of them")
    elif not packages:
        problems.append("packages: empty; allowed: one or more requirement specifiers")
    else:
        problems += [
            f"packages: received {spec!r}; allowed: a requirement specifier without spaces, "
            "markers or URLs (name, [extras], version clauses such as 'xgboost>=2,<3')"
            for spec in packages
            if not isinstance(spec, str) or not _REQUIREMENT.fullmatch(spec)
        ]
    return problems
