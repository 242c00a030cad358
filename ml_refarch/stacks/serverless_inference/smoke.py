"""Smoke test of a deployed ``MlRefArch-ServerlessInference`` stack.

Waits for the endpoint, checks that its variant is serverless (no instances) with the
memory and concurrency the stack was synthesized with, then sends the committed sample rows
(``text/csv``) a few times in a row (``--calls``, default 4). Every answer must carry the
scores the manifest records for the served model (``ModelName`` output). The script prints
the latency of the first call, a cold start when the endpoint was idle (its workers scaled
to zero), against the median of the warm calls that follow.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke serverless-inference [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ml_refarch.model_artifacts import load_manifest, parse_scores, sample_csv, scores_match
from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.serverless_inference.outputs import Outputs


@dataclass(frozen=True)
class Call:
    """One invocation: how long it took and whether its scores matched."""

    seconds: float
    matched: bool
    detail: str


def expected_scores(model: str, manifest: Mapping[str, Any]) -> list[float]:
    scores = manifest["samples"]["scores"]
    if model not in scores:
        raise smoke.SetupError(
            f"ModelName output is {model!r}, which the manifest does not list "
            f"(it has {', '.join(sorted(scores))})"
        )
    return list(scores[model])


def serverless_check(description: Mapping[str, Any]) -> smoke.Check:
    """The endpoint's only variant runs serverless: a serverless config and no instances."""
    variants = description.get("ProductionVariants") or []
    if len(variants) != 1:
        return smoke.Check("one serverless variant", False, f"{len(variants)} variants")
    variant = variants[0]
    config = variant.get("CurrentServerlessConfig")
    instances = variant.get("CurrentInstanceCount")
    passed = bool(config) and not instances
    detail = (
        f"{variant.get('VariantName')}: {config.get('MemorySizeInMB')} MB, max concurrency "
        f"{config.get('MaxConcurrency')}"
        + (
            f", provisioned {config['ProvisionedConcurrency']}"
            if config.get("ProvisionedConcurrency")
            else ""
        )
        if config
        else f"{variant.get('VariantName')}: no serverless config"
    )
    if instances:
        detail += f"; {instances} instances"
    return smoke.Check("one serverless variant, no instances", passed, detail)


def invoke_calls(
    runtime: Any,
    endpoint_name: str,
    body: str,
    expected: list[float],
    calls: int,
    clock: Callable[[], float] = time.perf_counter,
) -> list[Call]:
    """``calls`` invocations in a row, each timed and judged."""
    results = []
    for _ in range(calls):
        started = clock()
        _, text = endpoint_smoke.invoke_csv(runtime, endpoint_name, body)
        seconds = clock() - started
        try:
            received = parse_scores(text)
        except ValueError as error:
            results.append(Call(seconds, False, str(error)))
            continue
        results.append(
            Call(seconds, scores_match(expected, received), f"{received} (expected {expected})")
        )
    return results


def latency_summary(calls: Sequence[Call]) -> str:
    """``first call 2350 ms (cold start if idle); warm median 41 ms over 3 calls``."""
    if not calls:
        return "no calls"
    first = f"first call {calls[0].seconds * 1000:.0f} ms (a cold start if the endpoint was idle)"
    warm = [call.seconds for call in calls[1:]]
    if not warm:
        return first
    return f"{first}; warm median {statistics.median(warm) * 1000:.0f} ms over {len(warm)} calls"


def calls_check(calls: Sequence[Call]) -> smoke.Check:
    wrong = [call for call in calls if not call.matched]
    detail = (wrong[0] if wrong else calls[-1]).detail if calls else "no call made"
    return smoke.Check(
        "scores match the manifest",
        bool(calls) and not wrong,
        f"{len(calls) - len(wrong)} of {len(calls)} calls matched; {detail}",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--calls",
        type=smoke.whole_number(1, 100),
        default=4,
        help="invocations in a row (first is cold)",
    )


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, wait for the endpoint, check its variant "
        f"is serverless and invoke it {args.calls} times with the sample rows, reporting "
        "cold-start and warm latency"
    )


def run(run: Run) -> list[smoke.Check]:
    """The checks; the hook ``clock`` (default ``time.perf_counter``) times the calls."""
    args, outputs = run.args, run.outputs
    sagemaker, runtime = run.client("sagemaker"), run.client("sagemaker-runtime")
    manifest = load_manifest()
    expected = expected_scores(outputs[Outputs.MODEL_NAME], manifest)
    name = outputs[Outputs.ENDPOINT_NAME]
    in_service, description = endpoint_smoke.wait_in_service(
        sagemaker, name, run.deadline(), args.poll_seconds, run.log
    )
    checks = [in_service]
    if in_service.passed:
        checks.append(serverless_check(description))
        clock = run.hooks.get("clock", time.perf_counter)
        calls = invoke_calls(runtime, name, sample_csv(manifest), expected, args.calls, clock)
        run.log(f"latency: {latency_summary(calls)}")
        checks.append(calls_check(calls))
    return checks


SMOKE = SmokeTest(
    required_outputs=(Outputs.ENDPOINT_NAME, Outputs.MODEL_NAME),
    clients=("sagemaker", "sagemaker-runtime"),
    timeout_seconds=900.0,
)
