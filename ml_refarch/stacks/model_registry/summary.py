"""Summarise an Inference Recommender result: which instance to deploy the model on.

The workflow of the ``model-registry`` pattern saves each job's
``DescribeInferenceRecommendationsJob`` response as JSON under ``recommendations/`` in its
results bucket. That response lists ``InferenceRecommendations``, each an endpoint
configuration (instance type and initial count, or serverless capacity) with its metrics:
cost per hour and per inference, the most invocations a minute it sustained, the model
latency (ms) at that load, CPU and memory utilisation (InferenceRecommendation and
RecommendationMetrics, SageMaker API Reference,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_InferenceRecommendation.html,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RecommendationMetrics.html);
an advanced job on existing endpoints lists ``EndpointPerformances`` instead.

The summary sorts the recommendations by cost per inference and picks the cheapest whose
latency meets the job's latency threshold (its stopping condition, when it has one).

Usage::

    python -m ml_refarch.stacks.model_registry.summary RESULT.json   # or - for stdin
    aws s3 cp s3://<bucket>/recommendations/<job>.json - | \\
        python -m ml_refarch.stacks.model_registry.summary -
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ResultError(ValueError):
    """The text is not a DescribeInferenceRecommendationsJob response."""


@dataclass(frozen=True)
class Option:
    """One recommendation: where the model would run and what it measured."""

    recommendation_id: str
    instance: str
    instance_count: int | None
    cost_per_hour: float | None
    cost_per_inference: float | None
    max_invocations: int | None
    model_latency_ms: int | None
    cpu_utilization: float | None
    memory_utilization: float | None
    environment: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Summary:
    """A job's result: what it was, how it ended, and its options cheapest first."""

    job_name: str
    job_type: str
    status: str
    failure_reason: str
    latency_threshold_ms: int | None
    options: tuple[Option, ...]
    endpoint_performances: tuple[tuple[str, int | None, int | None], ...]

    @property
    def best(self) -> Option | None:
        """The cheapest option per inference within the latency threshold (any latency
        without one); options without a cost come last."""
        for option in self.options:
            if option.cost_per_inference is None:
                continue
            if self.latency_threshold_ms is None or (
                option.model_latency_ms is not None
                and option.model_latency_ms <= self.latency_threshold_ms
            ):
                return option
        return None


def _number(value: Any, kind: type) -> Any:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return kind(value)
    raise ResultError(f"expected a number, got {value!r}")


def _instance(configuration: Mapping[str, Any]) -> str:
    if configuration.get("InstanceType"):
        return str(configuration["InstanceType"])
    serverless = configuration.get("ServerlessConfig") or {}
    if serverless:
        return (
            f"serverless {serverless.get('MemorySizeInMB')} MB, "
            f"concurrency {serverless.get('MaxConcurrency')}"
        )
    return "unknown"


def _option(recommendation: Mapping[str, Any]) -> Option:
    if not isinstance(recommendation, Mapping):
        raise ResultError("each of InferenceRecommendations must be an object")
    metrics = recommendation.get("Metrics") or {}
    configuration = recommendation.get("EndpointConfiguration")
    if not isinstance(configuration, Mapping):
        raise ResultError("a recommendation has no EndpointConfiguration (required by the API)")
    model = recommendation.get("ModelConfiguration") or {}
    environment = tuple(
        (str(p.get("Key")), str(p.get("Value")))
        for p in model.get("EnvironmentParameters") or []
        if isinstance(p, Mapping)
    )
    return Option(
        recommendation_id=str(recommendation.get("RecommendationId", "")),
        instance=_instance(configuration),
        instance_count=_number(configuration.get("InitialInstanceCount"), int),
        cost_per_hour=_number(metrics.get("CostPerHour"), float),
        cost_per_inference=_number(metrics.get("CostPerInference"), float),
        max_invocations=_number(metrics.get("MaxInvocations"), int),
        model_latency_ms=_number(metrics.get("ModelLatency"), int),
        cpu_utilization=_number(metrics.get("CpuUtilization"), float),
        memory_utilization=_number(metrics.get("MemoryUtilization"), float),
        environment=environment,
    )


def _threshold(response: Mapping[str, Any]) -> int | None:
    conditions = response.get("StoppingConditions") or {}
    thresholds = conditions.get("ModelLatencyThresholds") or []
    if thresholds and isinstance(thresholds[0], Mapping):
        return _number(thresholds[0].get("ValueInMilliseconds"), int)
    return None


def summarise(response: Any) -> Summary:
    """The summary of one DescribeInferenceRecommendationsJob response (parsed JSON).

    Raises:
        ResultError: when ``response`` lacks what the API always returns (JobName,
            JobType, Status) or holds values of the wrong kind.
    """
    if not isinstance(response, Mapping):
        raise ResultError("a DescribeInferenceRecommendationsJob response is a JSON object")
    missing = [key for key in ("JobName", "JobType", "Status") if key not in response]
    if missing:
        raise ResultError(f"not a DescribeInferenceRecommendationsJob response: no {missing}")
    recommendations = response.get("InferenceRecommendations")
    recommendations = [] if recommendations is None else recommendations
    if not isinstance(recommendations, list):
        raise ResultError("InferenceRecommendations must be a list")
    options = sorted(
        (_option(item) for item in recommendations),
        key=lambda o: (o.cost_per_inference is None, o.cost_per_inference or 0.0, o.instance),
    )
    performances = tuple(
        (
            str((item.get("EndpointInfo") or {}).get("EndpointName", "")),
            _number((item.get("Metrics") or {}).get("MaxInvocations"), int),
            _number((item.get("Metrics") or {}).get("ModelLatency"), int),
        )
        for item in response.get("EndpointPerformances") or []
        if isinstance(item, Mapping)
    )
    return Summary(
        job_name=str(response["JobName"]),
        job_type=str(response["JobType"]),
        status=str(response["Status"]),
        failure_reason=str(response.get("FailureReason") or ""),
        latency_threshold_ms=_threshold(response),
        options=tuple(options),
        endpoint_performances=performances,
    )


def _shown(value: Any, template: str = "{}") -> str:
    return "-" if value is None else template.format(value)


def format_summary(summary: Summary) -> str:
    """The summary as text: a header, a table cheapest first, and the pick."""
    lines = [f"job {summary.job_name} ({summary.job_type}): {summary.status}"]
    if summary.failure_reason:
        lines.append(f"failure: {summary.failure_reason}")
    if summary.latency_threshold_ms is not None:
        lines.append(f"latency threshold: {summary.latency_threshold_ms} ms")
    if summary.options:
        header = ("instance", "count", "$/hour", "$/inference", "max inv/min", "latency ms")
        rows = [
            (
                option.instance,
                _shown(option.instance_count),
                _shown(option.cost_per_hour, "{:.4f}"),
                _shown(option.cost_per_inference, "{:.8f}"),
                _shown(option.max_invocations),
                _shown(option.model_latency_ms),
            )
            for option in summary.options
        ]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        for row in (header, *rows):
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            lines.append("  ".join(cells).rstrip())
    else:
        lines.append("no recommendations")
    for name, invocations, latency in summary.endpoint_performances:
        lines.append(
            f"endpoint {name}: {_shown(invocations)} invocations/min at {_shown(latency)} ms"
        )
    best = summary.best
    if best is not None:
        lines.append(
            f"pick: {best.instance} x {_shown(best.instance_count)} at "
            f"${best.cost_per_inference:.8f} per inference"
            + (
                f" ({', '.join(f'{k}={v}' for k, v in best.environment)})"
                if best.environment
                else ""
            )
        )
    elif summary.options:
        lines.append("pick: none meets the latency threshold")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, stdin: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", help="a saved result (JSON), or - for standard input")
    args = parser.parse_args(argv)
    try:
        if args.result == "-":
            text = (stdin or sys.stdin).read()
        else:
            with open(args.result, encoding="utf-8") as handle:
                text = handle.read()
        print(format_summary(summarise(json.loads(text))))
    except OSError as error:
        print(f"error: cannot read {args.result}: {error.strerror}", file=sys.stderr)
        return 2
    except (ValueError, ResultError) as error:
        print(f"error: {args.result}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
