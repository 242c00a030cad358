"""Spark on EMR Serverless, Feature Store and Athena: billed by use, nothing idle by default.

- ``AWS::EMRServerless::Application``: vCPU, memory and storage per second while workers run,
  from when a worker starts until it stops ("Amazon EMR pricing", EMR Serverless,
  https://aws.amazon.com/emr/pricing/). An application without ``InitialCapacity`` starts
  workers for a job run and releases them after it, and auto-stop stops the application when
  idle, so nothing bills idle. Pre-initialized workers (``InitialCapacity``) bill while the
  application is started, until auto-stop: an unpriced line says so.
- ``AWS::SageMaker::FeatureGroup``: the online store bills per read and write request unit
  and per GB-month stored (on-demand throughput); provisioned throughput
  (``ThroughputConfig.ThroughputMode`` ``Provisioned``) bills its capacity units every hour,
  idle or not (an unpriced line). The offline store is S3 storage in the stack's bucket
  ("Amazon SageMaker pricing", Feature Store, https://aws.amazon.com/sagemaker/pricing/).
- ``AWS::Athena::WorkGroup``: per TB of data a query scans ("Amazon Athena pricing",
  https://aws.amazon.com/athena/pricing/); an idle workgroup costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from ml_refarch.cfn import properties_of
from ml_refarch.cost.lines import Usage, unpriced
from ml_refarch.cost.registry import Entry, Priced, TemplateContext, pricer


@pricer("AWS::EMRServerless::Application")
def spark_applications(applications: list[Entry], _: TemplateContext) -> Iterator[Priced]:
    for logical_id, resource in applications:
        if properties_of(resource).get("InitialCapacity"):
            yield unpriced(
                f"EMR Serverless application {logical_id}: pre-initialized workers",
                "InitialCapacity keeps workers running while the application is started "
                "(until its auto-stop); leave it out to start workers per job",
            )
    yield Usage(
        "emr-serverless",
        "EMR Serverless vCPU-, GB- and storage-hours while job workers run (none idle)",
    )


@pricer("AWS::SageMaker::FeatureGroup")
def feature_groups(groups: list[Entry], _: TemplateContext) -> Iterator[Priced]:
    for logical_id, resource in groups:
        throughput = properties_of(resource).get("ThroughputConfig") or {}
        mode = str(throughput.get("ThroughputMode", "")) if isinstance(throughput, dict) else ""
        if mode.lower() == "provisioned":
            yield unpriced(
                f"Feature group {logical_id}: provisioned throughput",
                "provisioned read and write capacity units bill every hour, used or not",
            )
    yield Usage(
        "feature-store",
        "Feature Store online store read and write request units and GB-month stored",
    )


@pricer("AWS::Athena::WorkGroup")
def workgroups(_: list[Entry], __: TemplateContext) -> Iterator[Priced]:
    yield Usage("athena", "Athena queries per TB scanned")
