"""Pattern ``feature-store-spark``: Spark on EMR Serverless fills a SageMaker feature group.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import Pattern

PATTERN = Pattern(
    id="feature-store-spark",
    order=230,
    stack_name="MlRefArch-FeatureStoreSpark",
    title="Spark features into SageMaker Feature Store",
    notes_section="Apache Spark & Sagemaker; Sagemaker tools; Step functions",
    summary=(
        "EMR Serverless PySpark job in isolated subnets computes features from data-lake CSV "
        "into a feature group (KMS online store, Iceberg offline store); Step Functions runs "
        "it, exports the offline store with Athena and trains; retries, SNS alerts"
    ),
    stack_class="FeatureStoreSparkStack",
)
