"""Pattern ``feature-store-spark``: Spark on EMR Serverless fills a SageMaker feature group.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="feature-store-spark",
    order=230,
    stack_name="MlRefArch-FeatureStoreSpark",
    title="Spark features into SageMaker Feature Store",
    notes_section="Apache Spark & Sagemaker; Feature store; Step functions",
    summary=(
        "EMR Serverless PySpark job in isolated subnets computes features from data-lake CSV "
        "into a feature group (KMS online store, Iceberg offline store); Step Functions runs "
        "it, exports the offline store with Athena and trains; retries, SNS alerts"
    ),
    stack_class="FeatureStoreSparkStack",
    # 2 interface endpoints (Feature Store runtime, Logs) x 1 AZ (sandbox) or 2 AZs, key;
    # Spark workers, the online store's requests and Athena scans bill per use.
    idle_cost_band=CostBand(sandbox=(15, 17), production=(29, 32)),
)
