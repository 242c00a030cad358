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
