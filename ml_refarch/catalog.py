"""The pattern catalog: every architecture pattern ml-refarch builds, and its stack.

Stack classes are imported only when asked for, so listing the catalog stays fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pattern:
    """One catalog entry.

    Attributes:
        id: the pattern id used in docs and context keys (``kinesis-parquet``).
        stack_name: the CloudFormation stack and CDK stack id (``MlRefArch-KinesisParquet``).
        title: a short title.
        notes_section: the study-notes section(s) the pattern implements.
        summary: one line on what the stack builds.
        stack_class_path: ``module:Class`` of the stack.
        settings_attr: the ``AppConfig`` attribute holding the pattern's settings.
    """

    id: str
    stack_name: str
    title: str
    notes_section: str
    summary: str
    stack_class_path: str
    settings_attr: str

    @property
    def stack_class(self) -> Any:
        module_name, class_name = self.stack_class_path.split(":")
        return getattr(importlib.import_module(module_name), class_name)

    @property
    def docs_page(self) -> str:
        return f"docs/patterns/{self.id}.md"


PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        id="kinesis-parquet",
        stack_name="MlRefArch-KinesisParquet",
        title="Streaming ingest to Parquet",
        notes_section="Kinesis data streams; Kinesis data firehose",
        summary=(
            "KMS-encrypted Kinesis stream -> Firehose JSON-to-Parquet via a Glue table -> "
            "date-partitioned S3, optional CSV transform Lambda"
        ),
        stack_class_path="ml_refarch.stacks.kinesis_parquet_stack:KinesisParquetStack",
        settings_attr="kinesis_parquet",
    ),
    Pattern(
        id="isolated-notebook",
        stack_name="MlRefArch-IsolatedNotebook",
        title="VPC-isolated notebook instance",
        notes_section="Sagemaker notebook; Security",
        summary=(
            "Notebook without internet or root in isolated subnets with VPC endpoints, "
            "offline package installs, guardrails that keep jobs in the VPC"
        ),
        stack_class_path="ml_refarch.stacks.isolated_notebook_stack:IsolatedNotebookStack",
        settings_attr="isolated_notebook",
    ),
    Pattern(
        id="studio-domain",
        stack_name="MlRefArch-StudioDomain",
        title="VPC-only SageMaker Studio",
        notes_section="Sagemaker notebook; Security",
        summary=(
            "Studio domain in VPC-only mode with KMS, a guarded user profile and a "
            "JupyterLab lifecycle configuration"
        ),
        stack_class_path="ml_refarch.stacks.studio_domain_stack:StudioDomainStack",
        settings_attr="studio_domain",
    ),
    Pattern(
        id="fsx-training",
        stack_name="MlRefArch-FsxTraining",
        title="Training from FSx for Lustre",
        notes_section="S3; Data input; Sagemaker; Security",
        summary=(
            "Lustre file system linked to a KMS bucket, Lustre ports open only within its "
            "group, a scoped training role; spot jobs with checkpoints via ml_refarch.train"
        ),
        stack_class_path="ml_refarch.stacks.fsx_training_stack:FsxTrainingStack",
        settings_attr="fsx_training",
    ),
    Pattern(
        id="ml-workflow",
        stack_name="MlRefArch-MlWorkflow",
        title="Train, tune and deploy with Step Functions",
        notes_section="Step functions; Sagemaker; Security; Automatic model tuning",
        summary=(
            "State machine: spot training with checkpoints or log-scale tuning, then model, "
            "endpoint config and endpoint; retries, SNS alerts, encrypted logs, X-Ray"
        ),
        stack_class_path="ml_refarch.stacks.ml_workflow_stack:MlWorkflowStack",
        settings_attr="ml_workflow",
    ),
    Pattern(
        id="multi-az-endpoint",
        stack_name="MlRefArch-MultiAzEndpoint",
        title="Multi-AZ real-time endpoint",
        notes_section="Inference; SG Endpoint; Security",
        summary=(
            "Network-isolated model in isolated subnets of 2+ AZs on 2+ instances, KMS "
            "volumes, target tracking with cooldowns, 5xx and latency alarms to encrypted SNS"
        ),
        stack_class_path="ml_refarch.stacks.multi_az_endpoint_stack:MultiAzEndpointStack",
        settings_attr="multi_az_endpoint",
    ),
    Pattern(
        id="ab-variants",
        stack_name="MlRefArch-AbVariants",
        title="A/B testing with production variants",
        notes_section="SG Endpoint; Inference; Security",
        summary=(
            "One weighted production variant per model version on one endpoint, each on 2+ "
            "instances with scaling and alarms; shift traffic without redeploying"
        ),
        stack_class_path="ml_refarch.stacks.ab_variants_stack:AbVariantsStack",
        settings_attr="ab_variants",
    ),
    Pattern(
        id="public-endpoint",
        stack_name="MlRefArch-PublicEndpoint",
        title="Public REST API in front of a private endpoint",
        notes_section="SG Endpoint; Inference; Security",
        summary=(
            "POST /predict on API Gateway calls the private endpoint directly (no Lambda) with "
            "a role for that endpoint only; IAM or API-key auth, JSON schema validation, "
            "throttling, encrypted access logs, WAF in production"
        ),
        stack_class_path="ml_refarch.stacks.public_endpoint_stack:PublicEndpointStack",
        settings_attr="public_endpoint",
    ),
    Pattern(
        id="multi-model-endpoint",
        stack_name="MlRefArch-MultiModelEndpoint",
        title="Multi-model endpoint",
        notes_section="SG Endpoint; Inference; Security",
        summary=(
            "One network-isolated XGBoost container in MultiModel mode over a KMS bucket "
            "prefix holding several artifacts, picked per request by TargetModel; 2+ "
            "instances with scaling and alarms"
        ),
        stack_class_path="ml_refarch.stacks.multi_model_endpoint_stack:MultiModelEndpointStack",
        settings_attr="multi_model_endpoint",
    ),
    Pattern(
        id="serverless-inference",
        stack_name="MlRefArch-ServerlessInference",
        title="Serverless inference endpoint",
        notes_section="Serverless inference",
        summary=(
            "Endpoint with a serverless variant (memory, max and optional provisioned "
            "concurrency from config), no instances and no VPC, so it costs nothing idle"
        ),
        stack_class_path="ml_refarch.stacks.serverless_inference_stack:ServerlessInferenceStack",
        settings_attr="serverless_inference",
    ),
    Pattern(
        id="model-monitor",
        stack_name="MlRefArch-ModelMonitor",
        title="Data quality monitoring with a drift alarm",
        notes_section="Model monitor; Inference; Security",
        summary=(
            "Endpoint with KMS data capture, a scheduled data quality job (KMS volume and "
            "output, network isolation, VPC) against a baseline, CloudWatch drift alarm"
        ),
        stack_class_path="ml_refarch.stacks.model_monitor_stack:ModelMonitorStack",
        settings_attr="model_monitor",
    ),
    Pattern(
        id="inference-pipeline",
        stack_name="MlRefArch-InferencePipeline",
        title="Inference pipeline: real-time and batch transform",
        notes_section="Inference pipelines; SG Endpoint; Inference; Step functions; Security",
        summary=(
            "Serial model: scikit-learn preprocessing, XGBoost, postprocessing to labels; "
            "multi-AZ endpoint, and batch transform (filter, join) run by Step Functions on "
            "upload or schedule"
        ),
        stack_class_path="ml_refarch.stacks.inference_pipeline_stack:InferencePipelineStack",
        settings_attr="inference_pipeline",
    ),
)


def by_id(pattern_id: str) -> Pattern:
    """The pattern with this id.

    Raises:
        KeyError: naming the known ids.
    """
    for pattern in PATTERNS:
        if pattern.id == pattern_id:
            return pattern
    known = ", ".join(p.id for p in PATTERNS)
    raise KeyError(f"no pattern {pattern_id!r}; known patterns: {known}")


def markdown_table() -> str:
    """The catalog as the Markdown table the README carries."""
    rows = [
        "| Pattern | Stack | Title | Notes section | What it builds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in PATTERNS:
        rows.append(
            f"| [`{p.id}`]({p.docs_page}) | `{p.stack_name}` | {p.title} | "
            f"{p.notes_section} | {p.summary} |"
        )
    return "\n".join(rows)
