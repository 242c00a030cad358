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

    python scripts/smoke_multi_az_endpoint.py [--requests 3] [--stack MlRefArch-MultiAzEndpoint]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

# The script runs as a file and the package is not installed: import it from this checkout.
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from ml_refarch import endpoint_smoke, smoke  # noqa: E402

DEFAULT_STACK_NAME = "MlRefArch-MultiAzEndpoint"
REQUIRED_OUTPUTS = ("EndpointName", "VariantModels")
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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = smoke.base_parser(__doc__.split("\n\n")[0], DEFAULT_STACK_NAME)
    parser.set_defaults(poll_seconds=15.0)
    parser.add_argument(
        "--requests", type=int, default=3, help="invocations with the sample rows (default 3)"
    )
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    return args


def _run(args: argparse.Namespace, session: Any, sleep) -> int:
    log = smoke.make_log()
    outputs, (sagemaker, runtime, autoscaling, ec2) = smoke.connect(
        lambda: session or boto3.Session(region_name=args.region),
        args.stack,
        REQUIRED_OUTPUTS,
        "sagemaker",
        "sagemaker-runtime",
        "application-autoscaling",
        "ec2",
    )
    name = outputs["EndpointName"]
    body, manifest = endpoint_smoke.sample_body_and_manifest()
    variant_models = endpoint_smoke.parse_variant_models(outputs["VariantModels"])
    expected = endpoint_smoke.expected_scores(variant_models, manifest)
    deadline = smoke.Deadline(args.timeout_seconds, sleep=sleep)
    in_service, description = endpoint_smoke.wait_in_service(
        sagemaker, name, deadline, args.poll_seconds, log
    )
    checks = [in_service]
    if in_service.passed:
        checks += instance_checks(description)
        checks += scaling_checks(autoscaling, name, list(variant_models))
        checks.append(zone_check(sagemaker, ec2, description["EndpointConfigName"]))
        answers = [
            endpoint_smoke.invoke_once(runtime, name, expected, body=body)
            for _ in range(args.requests)
        ]
        checks.append(endpoint_smoke.answers_check(answers))
    return smoke.report(checks, log=print)


def main(argv: Sequence[str] | None = None, *, session: Any = None, sleep=None) -> int:
    """Runs the smoke test; ``session`` and ``sleep`` are for tests."""
    args = parse_args(argv)
    if args.dry_run:
        print(
            f"dry run: would read stack {args.stack}, wait for its endpoint, check instances "
            f"(>= {MIN_INSTANCES}), scalable targets and the model's zones, and send the "
            f"sample rows {args.requests} time(s) as text/csv"
        )
        return 0
    return smoke.run_guarded(lambda: _run(args, session, sleep or time.sleep))


if __name__ == "__main__":
    sys.exit(main())
