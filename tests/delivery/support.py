"""A small delivery app: the pipeline with one serverless pattern per stage, two sandbox
targets (one outside the pipeline's region) and one production target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk

import ml_refarch  # noqa: F401  (points jsii at the pinned Node before aws_cdk starts it)
from ml_refarch.app import project_context, register_packs
from ml_refarch.config import config_from_scope
from ml_refarch.delivery.stack import DeliveryStack
from tests.support import PINNED_TTL_FROM

CONNECTION_ARN = (
    "arn:aws:codeconnections:us-east-1:111122223333:connection/0123abcd-0123-4567-89ab-0123456789ab"
)
#: The settings of the small app (a serverless pattern: no VPC, quick to synthesize).
DELIVERY = {
    "delivery.connection_arn": CONNECTION_ARN,
    "delivery.repository": "owner/repo",
    "delivery.sandbox": "111122223333/us-east-1,111122223333/us-west-2",
    "delivery.production": "444455556666/eu-west-1",
    "delivery.sandbox_patterns": "serverless-inference",
    "delivery.production_patterns": "serverless-inference",
}


@dataclass
class DeliveryApp:
    outdir: Path
    assembly: cdk.cx_api.CloudAssembly

    def template(self, stack_name: str) -> dict:
        return self.assembly.get_stack_by_name(stack_name).template

    def stage_templates(self, stage_id: str) -> dict[str, dict]:
        """The templates of one stage, by stack id (``MlRefArch-ServerlessInference``)."""
        nested = self.assembly.get_nested_assembly(f"assembly-{stage_id}")
        # display names read "<stage>/<stack id> (<stack name>)"
        return {
            stack.display_name.split("/")[-1].split(" ")[0]: stack.template
            for stack in nested.stacks
        }


def synthesize_delivery(outdir: Path, **overrides: str) -> DeliveryApp:
    """The pipeline stack (its replication stacks and stages) with the compliance gate, as
    ``cdk synth`` builds it beside the top-level pattern stacks, which are left out here."""
    context = project_context(sandbox_ttl_from=PINNED_TTL_FROM, **{**DELIVERY, **overrides})
    app = cdk.App(context=context, outdir=str(outdir))
    DeliveryStack(app, config_from_scope(app).delivery)
    register_packs(app)
    return DeliveryApp(outdir, app.synth())
