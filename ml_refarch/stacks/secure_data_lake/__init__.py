"""Pattern ``secure-data-lake``: raw, curated and analytics buckets with PII redaction.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="secure-data-lake",
    order=130,
    stack_name="MlRefArch-SecureDataLake",
    title="Secure data lake with PII redaction",
    notes_section="S3",
    summary=(
        "KMS raw/curated/analytics buckets, Storage Class Analysis and lifecycle tiering, "
        "a Glue job that redacts PII from raw to curated under a KMS security configuration"
    ),
    stack_class="SecureDataLakeStack",
    # The key: the Glue job bills DPU-hours only while it runs.
    idle_cost_band=CostBand(sandbox=(0.5, 2), production=(0.5, 2)),
)
