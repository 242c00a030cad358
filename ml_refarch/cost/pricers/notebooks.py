"""Notebooks and Studio: a notebook instance bills while in service, its volume always.

- ``AWS::SageMaker::NotebookInstance``: instance-hours as if always in service, plus its ML
  storage volume (a stopped notebook costs only the volume);
- ``AWS::SageMaker::Domain``: Studio apps and the home EFS volume bill by use;
- ``AWS::CodeArtifact::Domain`` / ``Repository``: storage and requests, by use.
"""

from __future__ import annotations

from collections.abc import Iterator

from ml_refarch.aws_facts import NOTEBOOK_DEFAULT_VOLUME_GB
from ml_refarch.cfn import integer, properties_of
from ml_refarch.cost.lines import CostLine, Group, Usage, plural, show, unit_price, unpriced
from ml_refarch.cost.prices import ML_STORAGE_GB_MONTH, NOTEBOOK_INSTANCE_HOUR
from ml_refarch.cost.registry import Entry, Priced, TemplateContext, pricer


@pricer("AWS::SageMaker::NotebookInstance")
def notebook_instances(notebooks: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    instances: dict[str, Group] = {}
    storage = Group()
    for logical_id, resource in notebooks:
        properties = properties_of(resource)
        instance_type = properties.get("InstanceType")
        if isinstance(instance_type, str):
            group = instances.setdefault(instance_type, Group())
            group.quantity += 1
            group.resources.append(logical_id)
        else:
            yield unpriced(
                "notebook instance of unresolved type, in service",
                f"{logical_id}: InstanceType is {show(instance_type)}, not counted; look up "
                "its hourly price",
                quantity=1,
            )
        volume = properties.get("VolumeSizeInGB")
        size = integer(volume)
        if volume is None:
            size = NOTEBOOK_DEFAULT_VOLUME_GB
        elif size is None:
            storage.unresolved(
                f"{logical_id}: VolumeSizeInGB is {show(volume)}, counted as the "
                f"{NOTEBOOK_DEFAULT_VOLUME_GB} GB minimum"
            )
            size = NOTEBOOK_DEFAULT_VOLUME_GB
        storage.quantity += size
        storage.resources.append(logical_id)
    for instance_type, group in sorted(instances.items()):
        usd = context.prices.usd_for(
            NOTEBOOK_INSTANCE_HOUR, instance_type, "SageMaker notebook instance type"
        )
        yield CostLine(
            item=f"{plural(group.quantity, 'notebook instance')} {instance_type}, in service",
            quantity=group.quantity,
            unit=context.per_hour(usd, "instance-hour"),
            monthly_usd=context.hourly(group.quantity, usd),
            note=(
                f"{', '.join(group.resources)}; nothing while stopped: a stopped notebook "
                "costs only its volume"
            ),
        )
    usd = context.prices.usd(ML_STORAGE_GB_MONTH)
    yield CostLine(
        item=f"notebook ML storage, {storage.at_least}{storage.quantity:g} GB",
        quantity=storage.quantity,
        unit=f"{unit_price(usd)}/GB-month",
        monthly_usd=storage.quantity * usd,
        note=storage.note(f"{', '.join(storage.resources)}; billed while stopped too"),
    )


@pricer("AWS::SageMaker::Domain")
def sagemaker_domains(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    yield Usage("studio", "Studio app instance-hours while apps run, and home EFS storage")


@pricer("AWS::CodeArtifact::Domain", "AWS::CodeArtifact::Repository")
def codeartifact(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    yield Usage("codeartifact", "CodeArtifact storage and requests")
