"""Smoke test of a deployed ``MlRefArch-MultiAzEndpoint`` stack.

Reads the stack's outputs, waits for the endpoint to be in service, then checks what the
notes ask of a production endpoint and reports it:

- each variant runs two or more instances (current count, desired count),
- each variant is a scalable target of Application Auto Scaling with a minimum of two or
  more, and a target-tracking policy (target value, cooldowns),
- the model's subnets lie in two or more Availability Zones,
- the endpoint answers the committed sample rows (``text/csv``) with the scores the
  manifest records for its model.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke multi-az-endpoint [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.multi_az_endpoint.outputs import Outputs

MIN_INSTANCES = 2
MIN_ZONES = 2
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def scaling_resource_id(endpoint_name: str, variant: str) -> str:
    """The Application Auto Scaling resource id of an endpoint variant."""
    return f"endpoint/{endpoint_name}/variant/{variant}"


def instance_checks(description: Mapping[str, Any]) -> list[smoke.Check]:
    """One check per variant: it runs at least two instances."""
    checks = []
    for name, variant in endpoint_smoke.variant_descriptions(description).items():
        current = variant.get("CurrentInstanceCount", 0)
        desired = variant.get("DesiredInstanceCount", current)
        checks.append(
            smoke.Check(
                f"variant {name} runs {MIN_INSTANCES}+ instances",
                current >= MIN_INSTANCES,
                f"{current} in service, {desired} desired, "
                f"{variant.get('CurrentWeight', '?')} weight",
            )
        )
    return checks


def scaling_checks(
    autoscaling: Any, endpoint_name: str, variants: Sequence[str]
) -> list[smoke.Check]:
    """One check per variant: a scalable target with a minimum of two and a tracking policy."""
    checks = []
    for variant in variants:
        resource_id = scaling_resource_id(endpoint_name, variant)
        targets = autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker",
            ResourceIds=[resource_id],
            ScalableDimension=SCALABLE_DIMENSION,
        )["ScalableTargets"]
        if not targets:
            checks.append(
                smoke.Check(f"variant {variant} scales", False, f"no scalable target {resource_id}")
            )
            continue
        target = targets[0]
        policies = autoscaling.describe_scaling_policies(
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=SCALABLE_DIMENSION,
        )["ScalingPolicies"]
        tracking = [p for p in policies if p.get("PolicyType") == "TargetTrackingScaling"]
        described = []
        for policy in tracking:
            settings = policy.get("TargetTrackingScalingPolicyConfiguration", {})
            described.append(
                f"{policy.get('PolicyName')}: target {settings.get('TargetValue')}, cooldowns "
                f"in {settings.get('ScaleInCooldown')} s / out {settings.get('ScaleOutCooldown')} s"
            )
        minimum, maximum = target.get("MinCapacity", 0), target.get("MaxCapacity", 0)
        checks.append(
            smoke.Check(
                f"variant {variant} scales between {MIN_INSTANCES}+ instances",
                minimum >= MIN_INSTANCES and bool(tracking),
                f"min {minimum}, max {maximum}; "
                + ("; ".join(described) if described else "no target-tracking policy"),
            )
        )
    return checks


def zone_check(sagemaker: Any, ec2: Any, config_name: str) -> smoke.Check:
    """The subnets of every model the endpoint serves span two or more zones."""
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    zones_by_model: dict[str, set[str]] = {}
    for variant in config.get("ProductionVariants", []):
        model = sagemaker.describe_model(ModelName=variant["ModelName"])
        subnets = (model.get("VpcConfig") or {}).get("Subnets", [])
        found = ec2.describe_subnets(SubnetIds=subnets)["Subnets"] if subnets else []
        zones_by_model[variant["ModelName"]] = {subnet["AvailabilityZone"] for subnet in found}
    spread = bool(zones_by_model) and all(
        len(zones) >= MIN_ZONES for zones in zones_by_model.values()
    )
    detail = "; ".join(
        f"{model}: {', '.join(sorted(zones)) or 'no VpcConfig'}"
        for model, zones in zones_by_model.items()
    )
    return smoke.Check(f"model subnets in {MIN_ZONES}+ Availability Zones", spread, detail)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--requests", type=int, default=3, help="invocations with the sample rows (default 3)"
    )


def check_arguments(args: argparse.Namespace) -> str | None:
    return "--requests must be at least 1" if args.requests < 1 else None


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, wait for its endpoint, check instances "
        f"(>= {MIN_INSTANCES}), scalable targets and the model's zones, and send the "
        f"sample rows {args.requests} time(s) as text/csv"
    )


def run(run: Run) -> list[smoke.Check]:
    args, outputs = run.args, run.outputs
    sagemaker, runtime = run.client("sagemaker"), run.client("sagemaker-runtime")
    target = endpoint_smoke.expectations(outputs)
    name, body, variant_models = target.endpoint_name, target.body, target.variant_models
    expected = target.expected
    in_service, description = endpoint_smoke.wait_in_service(
        sagemaker, name, run.deadline(), args.poll_seconds, run.log
    )
    checks = [in_service]
    if in_service.passed:
        checks += instance_checks(description)
        checks += scaling_checks(run.client("application-autoscaling"), name, list(variant_models))
        checks.append(zone_check(sagemaker, run.client("ec2"), description["EndpointConfigName"]))
        answers = [
            endpoint_smoke.invoke_once(runtime, name, expected, body=body)
            for _ in range(args.requests)
        ]
        checks.append(endpoint_smoke.answers_check(answers))
    return checks


SMOKE = SmokeTest(
    required_outputs=(Outputs.ENDPOINT_NAME, Outputs.VARIANT_MODELS),
    clients=("sagemaker", "sagemaker-runtime", "application-autoscaling", "ec2"),
    timeout_seconds=900.0,
    poll_seconds=15.0,
)
