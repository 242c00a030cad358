"""Pattern ``secure-data-lake``: its data flows, for the architecture diagram.

Producers upload CSV to the raw bucket; the Glue job reads it, redacts PII under its
security configuration and writes Parquet to the curated bucket, which the Glue table
describes; S3 Storage Class Analysis exports daily reports to the analytics bucket.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    EXTERNAL_GROUP,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
)

_JOB = Match("AWS::Glue::Job")

FLOWS = PatternFlows(
    pseudo=(Pseudo("producers", "Producers", "CSV files with PII", EXTERNAL_GROUP, _JOB),),
    flows=(
        KnownFlow("producers", BUCKET, "upload raw CSV"),
        KnownFlow(_JOB, BUCKET, "read raw, write redacted Parquet"),
        KnownFlow(_JOB, Match("AWS::Glue::SecurityConfiguration"), "encrypts with"),
    ),
)
