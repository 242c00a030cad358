"""Settings of the ``secure-data-lake`` pattern: tiering thresholds and the PII job.

Lifecycle thresholds follow S3's rules: a transition to Standard-IA needs objects at least
30 days old ("Transition", ``Days``: "If the specified storage class is STANDARD_IA or
ONEZONE_IA, valid values are positive integers greater than 30",
https://docs.aws.amazon.com/AmazonS3/latest/API/API_Transition.html, and "Constraints and
considerations for transitions",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html);
Intelligent-Tiering accepts 0 or more days. The job's entity types are Glue managed data
type names (https://docs.aws.amazon.com/glue/latest/dg/sensitive-data-managed-data-types.html;
the names as the PIIDetection API lists them,
https://docs.aws.amazon.com/glue/latest/webapi/API_PIIDetection.html) that Glue's sensitive
data detection finds. The Glue version is 4.0: the detection API is a machine learning
transform (``awsglueml.transforms.EntityDetector``), and "All existing job parameters and
major features that exist in AWS Glue 4.0 will exist in AWS Glue 5.0, except machine
learning transforms" ("Migrating AWS Glue for Spark jobs to AWS Glue version 5.0",
https://docs.aws.amazon.com/glue/latest/dg/migrating-version-50.html); the detection pages
name 3.0 and 4.0 only ("AWS Glue 3.0 and 4.0 jobs will return a new DataFrame with this same
supplementary column", https://docs.aws.amazon.com/glue/latest/dg/detect-PII.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml_refarch.settings import Field, Invalid, SettingsSpec, choice, integer, parser
from ml_refarch.stacks.secure_data_lake.job.redact_pii import (
    ACTIONS,
    DEFAULT_ENTITY_TYPES,
    MANAGED_ENTITY_TYPES,
)

#: The fewest days before a lifecycle transition to Standard-IA (API_Transition.html).
STANDARD_IA_MIN_DAYS = 30
#: The Glue version of the job: the newest that keeps the sensitive data detection API.
GLUE_VERSION = "4.0"
#: Why newer versions are refused (migrating-version-50.html).
NEWER_GLUE_VERSIONS = ("5.0", "5.1")
NO_TIERING = "none"


@dataclass(frozen=True)
class SecureDataLakeSettings:
    """Settings of the ``secure-data-lake`` pattern.

    Attributes:
        raw_infrequent_access_days: age at which raw objects move to Standard-IA (30 or more).
        curated_infrequent_access_days: age at which curated objects move to Standard-IA.
        curated_intelligent_tiering_days: age at which curated objects move to
            Intelligent-Tiering instead (``None``: they move to Standard-IA).
        entity_types: Glue managed data type names the job detects and redacts.
        redaction_action: ``redact`` (replace with ``redact_text``) or ``sha256_hash``.
        redact_text: what replaces a value under ``redact``.
        column_threshold_percent: share of a column's cells that must be one entity type
            for the whole column to be redacted.
        glue_version: the Glue runtime (4.0 or newer).
        workers: G.1X workers of the job (2 or more).
        timeout_minutes: how long a run may take before Glue stops it.
    """

    raw_infrequent_access_days: int
    curated_infrequent_access_days: int
    curated_intelligent_tiering_days: int | None
    entity_types: tuple[str, ...]
    redaction_action: str
    redact_text: str
    column_threshold_percent: int
    glue_version: str
    workers: int
    timeout_minutes: int


_ENTITIES_ALLOWED = "comma-separated Glue managed data type names from " + ", ".join(
    MANAGED_ENTITY_TYPES
)


@parser(_ENTITIES_ALLOWED)
def entity_types(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    names = tuple(str(item).strip().upper() for item in items if str(item).strip())
    if not names:
        raise Invalid(_ENTITIES_ALLOWED, "no entity types")
    unknown = [name for name in names if name not in MANAGED_ENTITY_TYPES]
    if unknown:
        raise Invalid(_ENTITIES_ALLOWED, f"unknown: {', '.join(unknown)}")
    if len(set(names)) != len(names):
        raise Invalid(_ENTITIES_ALLOWED, "a name appears twice")
    return names


_TIERING_ALLOWED = f"{NO_TIERING!r} or a whole number of days from 0 to 3650"


@parser(_TIERING_ALLOWED)
def tiering_days(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == NO_TIERING):
        return None
    try:
        return integer(0, 3650)(value)
    except Invalid:
        raise Invalid(_TIERING_ALLOWED) from None


_REDACT_TEXT_ALLOWED = "1 to 32 printable characters without commas"


@parser(_REDACT_TEXT_ALLOWED)
def redact_text(value: Any) -> str:
    text = value if isinstance(value, str) else ""
    if 1 <= len(text) <= 32 and text.isprintable() and "," not in text:
        return text
    raise Invalid(_REDACT_TEXT_ALLOWED)


_GLUE_ALLOWED = (
    f"{GLUE_VERSION!r} (Glue 5.0 and newer drop machine learning transforms, which hold the "
    "sensitive data detection API: migrating-version-50.html)"
)


@parser(_GLUE_ALLOWED)
def glue_version(value: Any) -> str:
    text = str(value).strip() if isinstance(value, (str, int, float)) else ""
    if text == GLUE_VERSION:
        return text
    if text in NEWER_GLUE_VERSIONS:
        raise Invalid(_GLUE_ALLOWED, f"Glue {text} has no EntityDetector")
    raise Invalid(_GLUE_ALLOWED)


_IA_WHY = "S3 moves objects to Standard-IA only after at least 30 days (API_Transition.html)"

FIELDS = {
    "raw_infrequent_access_days": Field(
        integer(STANDARD_IA_MIN_DAYS, 3650, _IA_WHY),
        30,
        "60",
        "Age at which raw objects move to Standard-IA",
    ),
    "curated_infrequent_access_days": Field(
        integer(STANDARD_IA_MIN_DAYS, 3650, _IA_WHY),
        90,
        "120",
        "Age at which curated objects move to Standard-IA",
    ),
    "curated_intelligent_tiering_days": Field(
        tiering_days,
        None,
        "0",
        "Age at which curated objects move to Intelligent-Tiering instead (`none`: Standard-IA)",
    ),
    "entity_types": Field(
        entity_types,
        ",".join(DEFAULT_ENTITY_TYPES),
        "EMAIL,USA_SSN",
        "Glue managed PII entity types the job detects and redacts",
    ),
    "redaction_action": Field(
        choice(*(action.lower() for action in ACTIONS)),
        "redact",
        "sha256_hash",
        "What replaces detected PII: fixed text or its SHA-256",
    ),
    "redact_text": Field(redact_text, "****", "[PII]", "Text that replaces PII under `redact`"),
    "column_threshold_percent": Field(
        integer(1, 100, "a share of the column's non-empty cells"),
        50,
        "10",
        "Share of a column that must be PII for the whole column to be redacted",
    ),
    "glue_version": Field(
        glue_version, GLUE_VERSION, GLUE_VERSION, "Glue runtime of the job (4.0, see the page)"
    ),
    "workers": Field(
        integer(2, 100, "a Spark driver and at least one executor"), 2, "4", "G.1X workers"
    ),
    "timeout_minutes": Field(
        integer(1, 2880, "Glue stops a run after at most 48 hours"),
        30,
        "60",
        "How long a job run may take",
    ),
}

NOTES = f"""\
S3 moves objects to Standard-IA only when they are at least {STANDARD_IA_MIN_DAYS} days
old, so both Standard-IA thresholds start at {STANDARD_IA_MIN_DAYS}. Setting
`curated_intelligent_tiering_days` moves curated objects to Intelligent-Tiering instead
(0 days is allowed there). Entity types are the names of Glue's managed data types, which
Glue's sensitive data detection finds: {", ".join(f"`{name}`" for name in MANAGED_ENTITY_TYPES)}."""

SETTINGS = SettingsSpec(cls=SecureDataLakeSettings, fields=FIELDS, notes=NOTES)
