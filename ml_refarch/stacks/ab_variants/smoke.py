"""Smoke test of a deployed ``MlRefArch-AbVariants`` stack, and a traffic shift.

Reads the stack's outputs and waits for the endpoint. With ``--set-weights`` it first shifts
traffic (``UpdateEndpointWeightsAndCapacities``; the endpoint stays in service while it
updates) and waits for the new weights. Then it:

- sends the committed sample rows to each variant directly (``TargetVariant``) and checks
  each answers with the scores of its own model version,
- sends ``--requests`` requests without a target and reports which variant answered each
  (``InvokedProductionVariant``), next to the share the current weights predict,
- with ``--metrics``, reports CloudWatch ``Invocations`` per variant (the metric lags by a
  minute or two).

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke ab-variants [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.ab_variants.outputs import Outputs


def current_weights(description: Mapping[str, Any]) -> dict[str, float]:
    """{variant: CurrentWeight} from DescribeEndpoint."""
    return {
        name: float(variant.get("CurrentWeight", 0.0))
        for name, variant in endpoint_smoke.variant_descriptions(description).items()
    }


def weights_applied(description: Mapping[str, Any], wanted: Mapping[str, float]) -> smoke.Check:
    """The endpoint's current weights are the ones asked for."""
    current = current_weights(description)
    applied = all(abs(current.get(name, -1.0) - weight) < 1e-6 for name, weight in wanted.items())
    return smoke.Check("weights shifted", applied, f"now {format_weights(current)}")


def format_weights(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{name}={weight:g}" for name, weight in weights.items())


def distribution_lines(counts: Mapping[str, int], weights: Mapping[str, float]) -> list[str]:
    """Per variant: requests answered, their share, and the share the weights predict."""
    total = sum(counts.values())
    shares = endpoint_smoke.traffic_shares(weights)
    lines = []
    for name in sorted(set(weights) | set(counts)):
        answered = counts.get(name, 0)
        observed = answered / total if total else 0.0
        lines.append(
            f"{name}: {answered} of {total} requests ({observed:.0%}; weights predict "
            f"{shares.get(name, 0.0):.0%})"
        )
    return lines


def distribution_check(counts: Mapping[str, int], weights: Mapping[str, float]) -> smoke.Check:
    """Every answer came from a variant of the endpoint; the detail gives the split."""
    strangers = sorted(set(counts) - set(weights))
    detail = "; ".join(distribution_lines(counts, weights))
    if strangers:
        detail = f"answers from unknown variants {', '.join(strangers)}; {detail}"
    return smoke.Check("answers come from the endpoint's variants", not strangers, detail)


def shift_weights(
    sagemaker: Any,
    endpoint_name: str,
    wanted: Mapping[str, float],
    known: Sequence[str],
    deadline: smoke.Deadline,
    poll_seconds: float,
    log,
) -> tuple[list[smoke.Check], dict[str, Any]]:
    """UpdateEndpointWeightsAndCapacities, then wait for the endpoint and check the weights."""
    try:
        request = endpoint_smoke.weights_request(endpoint_name, wanted, known)
    except ValueError as error:
        raise smoke.SetupError(f"--set-weights: {error}") from None
    sagemaker.update_endpoint_weights_and_capacities(**request)
    log(f"asked for {format_weights(wanted)}")
    in_service, description = endpoint_smoke.wait_in_service(
        sagemaker, endpoint_name, deadline, poll_seconds, log
    )
    checks = [in_service]
    if in_service.passed:
        checks.append(weights_applied(description, wanted))
    return checks, description


def metric_lines(cloudwatch: Any, endpoint_name: str, variants: Sequence[str], minutes: int):
    """CloudWatch Invocations per variant over the last ``minutes``."""
    query = endpoint_smoke.invocations_query(
        endpoint_name, variants, end=datetime.now(UTC), minutes=minutes
    )
    totals = endpoint_smoke.invocations_by_variant(cloudwatch.get_metric_data(**query))
    return [
        f"CloudWatch Invocations, last {minutes} min: {name} {totals.get(name, 0)}"
        for name in variants
    ]


def _weights_argument(text: str) -> dict[str, float]:
    try:
        return endpoint_smoke.parse_weights(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--requests", type=int, default=100, help="untargeted invocations to count (default 100)"
    )
    parser.add_argument(
        "--set-weights",
        type=_weights_argument,
        metavar="VARIANT=WEIGHT,...",
        help="shift traffic first, e.g. churn-v1=0.5,churn-v2=0.5 (0 drains a variant)",
    )
    parser.add_argument(
        "--metrics", action="store_true", help="also report CloudWatch Invocations per variant"
    )
    parser.add_argument(
        "--metrics-minutes", type=int, default=15, help="the metrics' look-back (default 15)"
    )


def check_arguments(args: argparse.Namespace) -> str | None:
    if args.requests < 0:
        return "--requests must be 0 or more"
    if args.metrics_minutes < 1:
        return "--metrics-minutes must be at least 1"
    return None


def plan(args: argparse.Namespace) -> str:
    shift = (
        f"shift the weights to {format_weights(args.set_weights)}, wait, "
        if args.set_weights
        else ""
    )
    return (
        f"dry run: would read stack {args.stack_name}, wait for its endpoint, {shift}invoke "
        f"each variant once and the endpoint {args.requests} time(s) with the sample rows, "
        "and count the variants that answered"
        + (" and their CloudWatch Invocations" if args.metrics else "")
    )


def run(run: Run) -> list[smoke.Check]:
    log = run.log
    args, outputs = run.args, run.outputs
    sagemaker, runtime = run.client("sagemaker"), run.client("sagemaker-runtime")
    target = endpoint_smoke.expectations(outputs)
    name, body, variant_models = target.endpoint_name, target.body, target.variant_models
    expected = target.expected
    deadline = run.deadline()
    in_service, description = endpoint_smoke.wait_in_service(
        sagemaker, name, deadline, args.poll_seconds, log
    )
    checks = [in_service]
    if in_service.passed and args.set_weights:
        shifted, description = shift_weights(
            sagemaker,
            name,
            args.set_weights,
            list(variant_models),
            deadline,
            args.poll_seconds,
            log,
        )
        checks += shifted
    if all(check.passed for check in checks):
        for variant in variant_models:
            answer = endpoint_smoke.invoke_once(
                runtime, name, expected, body=body, target_variant=variant
            )
            checks.append(
                smoke.Check(
                    f"variant {variant} serves {variant_models[variant]}",
                    answer.matched and answer.variant == variant,
                    answer.detail,
                )
            )
        answers = [
            endpoint_smoke.invoke_once(runtime, name, expected, body=body)
            for _ in range(args.requests)
        ]
        if answers:
            weights = current_weights(description)
            checks.append(distribution_check(endpoint_smoke.count_variants(answers), weights))
            checks.append(endpoint_smoke.answers_check(answers))
        if args.metrics:
            for line in metric_lines(
                run.client("cloudwatch"), name, list(variant_models), args.metrics_minutes
            ):
                print(line)
    return checks


SMOKE = SmokeTest(
    required_outputs=(Outputs.ENDPOINT_NAME, Outputs.VARIANT_MODELS),
    clients=("sagemaker", "sagemaker-runtime", "cloudwatch"),
    timeout_seconds=900.0,
    poll_seconds=15.0,
)
