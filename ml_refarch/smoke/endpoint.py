"""Smoke-check helpers for SageMaker endpoints: waiting until one is in service, invoking it
with CSV rows, and judging the scores of the stacks that host committed models
(``ml_refarch.constructs.model_endpoint``).

Those stacks publish ``VariantModels`` (``AllTraffic=churn-v1`` or
``churn-v1=churn-v1,churn-v2=churn-v2``): which committed model each production variant
serves. The smoke checks send the committed sample rows (``model_artifacts.sample_csv()``)
with ``ContentType: text/csv`` and compare the scores with the ones the manifest records
for the model of the variant that answered (``InvokedProductionVariant``).

Standard library and botocore only, so the smoke command starts without loading CDK.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ml_refarch.model_artifacts import load_manifest, parse_scores, sample_csv, scores_match
from ml_refarch.smoke.core import Check, Deadline, Log, SetupError
from ml_refarch.smoke.outputs import EndpointOutputs

PAIR_SEPARATOR = ","
NAME_SEPARATOR = "="
CONTENT_TYPE = "text/csv"


def format_variant_models(pairs: Mapping[str, str]) -> str:
    """{variant: model} -> ``variant=model,variant=model`` (the ``VariantModels`` output)."""
    return PAIR_SEPARATOR.join(
        f"{variant}{NAME_SEPARATOR}{model}" for variant, model in pairs.items()
    )


def parse_variant_models(text: str) -> dict[str, str]:
    """The ``VariantModels`` output as {variant: model}; SetupError when malformed."""
    pairs: dict[str, str] = {}
    for item in text.split(PAIR_SEPARATOR):
        variant, separator, model = (part.strip() for part in item.partition(NAME_SEPARATOR))
        if not (variant and separator and model) or variant in pairs:
            raise SetupError(
                f"VariantModels output: expected unique variant=model pairs, got {text!r}"
            )
        pairs[variant] = model
    return pairs


def expected_scores(
    variant_models: Mapping[str, str], manifest: Mapping[str, Any]
) -> dict[str, list[float]]:
    """{variant: the manifest's scores of its model}; SetupError for a model it lacks."""
    scores = manifest["samples"]["scores"]
    missing = sorted({model for model in variant_models.values() if model not in scores})
    if missing:
        raise SetupError(
            f"the manifest has no scores for {', '.join(missing)}; "
            f"it knows {', '.join(sorted(scores))}"
        )
    return {variant: list(scores[model]) for variant, model in variant_models.items()}


def invoke_request(
    endpoint_name: str,
    body: str,
    target_variant: str | None = None,
    *,
    target_model: str | None = None,
) -> dict[str, Any]:
    """The InvokeEndpoint parameters for one request of the sample rows, sent to
    ``target_variant`` or (on a multi-model endpoint) ``target_model`` when given."""
    request: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "ContentType": CONTENT_TYPE,
        "Accept": CONTENT_TYPE,
        "Body": body.encode("utf-8"),
    }
    if target_variant is not None:
        request["TargetVariant"] = target_variant
    if target_model is not None:
        request["TargetModel"] = target_model
    return request


def invoke_csv(
    runtime: Any,
    endpoint_name: str,
    body: str,
    *,
    target_variant: str | None = None,
    target_model: str | None = None,
) -> tuple[str, str]:
    """One InvokeEndpoint with the CSV ``body`` (see :func:`invoke_request`): the variant
    that answered (``InvokedProductionVariant``, "" when not named) and the answer's text."""
    request = invoke_request(endpoint_name, body, target_variant, target_model=target_model)
    response = runtime.invoke_endpoint(**request)
    return response.get("InvokedProductionVariant", ""), response["Body"].read().decode("utf-8")


#: How much of an answer that is not scores a check's detail quotes (an error page can be long).
QUOTED_ANSWER_CHARACTERS = 300


def scores_check(name: str, expected: Sequence[float], text: str, *, model: str = "") -> Check:
    """Whether an answer's ``text`` carries the ``expected`` scores (of ``model``, named in the
    detail when given)."""
    try:
        received = parse_scores(text)
    except ValueError as error:
        return Check(name, False, str(error)[:QUOTED_ANSWER_CHARACTERS])
    of_model = f" ({model})" if model else ""
    return Check(
        name,
        scores_match(list(expected), received),
        f"expected {list(expected)}{of_model}, received {received}",
    )


@dataclass(frozen=True)
class Answer:
    """One invocation's outcome: which variant answered, and whether its scores matched."""

    variant: str
    matched: bool
    detail: str


def invoke_once(
    runtime: Any,
    endpoint_name: str,
    expected: Mapping[str, list[float]],
    *,
    body: str,
    target_variant: str | None = None,
) -> Answer:
    """Invoke with the sample rows and judge the answer against its variant's model."""
    variant, text = invoke_csv(runtime, endpoint_name, body, target_variant=target_variant)
    try:
        received = parse_scores(text)
    except ValueError as error:
        return Answer(variant, False, str(error))
    if variant not in expected:
        return Answer(variant, False, f"answered by unknown variant {variant!r}")
    matched = scores_match(expected[variant], received)
    return Answer(variant, matched, f"{variant}: {received} (expected {expected[variant]})")


def count_variants(answers: Iterable[Answer]) -> Counter[str]:
    """How many requests each variant answered."""
    return Counter(answer.variant for answer in answers)


def traffic_shares(weights: Mapping[str, float]) -> dict[str, float]:
    """Each variant's expected share of requests: its weight over the sum."""
    total = sum(weights.values())
    return {name: (weight / total if total else 0.0) for name, weight in weights.items()}


def parse_weights(text: str) -> dict[str, float]:
    """``churn-v1=0.5,churn-v2=0.5`` -> {variant: weight}.

    Weights are finite and 0 or more (0 drains a variant), names unique, and at least one
    weight above 0, or nothing would be served.

    Raises:
        ValueError: naming what is wrong.
    """
    weights: dict[str, float] = {}
    for item in text.split(PAIR_SEPARATOR):
        name, separator, value = (part.strip() for part in item.partition(NAME_SEPARATOR))
        if not (name and separator and value):
            raise ValueError(f"expected variant=weight pairs separated by commas, got {item!r}")
        if name in weights:
            raise ValueError(f"variant {name!r} is given twice")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"weight of {name!r} is not a number: {value!r}") from None
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weight of {name!r} must be a finite number of 0 or more: {value!r}")
        weights[name] = weight
    if not any(weights.values()):
        raise ValueError("at least one weight must be above 0, or no variant would serve traffic")
    return weights


def weights_request(
    endpoint_name: str, weights: Mapping[str, float], known: Sequence[str]
) -> dict[str, Any]:
    """UpdateEndpointWeightsAndCapacities parameters; ValueError for unknown variants."""
    unknown = sorted(set(weights) - set(known))
    if unknown:
        raise ValueError(
            f"no variant {', '.join(unknown)} on the endpoint; it has {', '.join(known)}"
        )
    return {
        "EndpointName": endpoint_name,
        "DesiredWeightsAndCapacities": [
            {"VariantName": name, "DesiredWeight": weight} for name, weight in weights.items()
        ],
    }


def invocations_query(
    endpoint_name: str, variants: Sequence[str], *, end: datetime, minutes: int
) -> dict[str, Any]:
    """GetMetricData parameters: the Sum of ``Invocations`` per variant over ``minutes``."""
    return {
        "MetricDataQueries": [
            {
                "Id": f"v{index}",
                "Label": variant,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "Invocations",
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": endpoint_name},
                            {"Name": "VariantName", "Value": variant},
                        ],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
            for index, variant in enumerate(variants)
        ],
        "StartTime": end - timedelta(minutes=minutes),
        "EndTime": end,
    }


def invocations_by_variant(response: Mapping[str, Any]) -> dict[str, int]:
    """{variant: total invocations} from a GetMetricData response of :func:`invocations_query`."""
    return {
        result["Label"]: int(sum(result.get("Values", [])))
        for result in response.get("MetricDataResults", [])
    }


def variant_descriptions(description: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """DescribeEndpoint's ProductionVariants by name."""
    return {item["VariantName"]: item for item in description.get("ProductionVariants", [])}


def sample_body_and_manifest() -> tuple[str, dict[str, Any]]:
    """The request body of sample rows and the manifest they come from."""
    manifest = load_manifest()
    return sample_csv(manifest), manifest


@dataclass(frozen=True)
class Expectations:
    """What a smoke check sends to an endpoint stack and what each variant must answer."""

    endpoint_name: str
    body: str
    variant_models: dict[str, str]
    expected: dict[str, list[float]]


def expectations(outputs: Mapping[str, str]) -> Expectations:
    """The endpoint, the sample rows and each variant's expected scores, from the
    ``EndpointName`` and ``VariantModels`` outputs; SetupError when they are unusable."""
    body, manifest = sample_body_and_manifest()
    variant_models = parse_variant_models(outputs[EndpointOutputs.VARIANT_MODELS])
    return Expectations(
        endpoint_name=outputs[EndpointOutputs.ENDPOINT_NAME],
        body=body,
        variant_models=variant_models,
        expected=expected_scores(variant_models, manifest),
    )


def answers_check(answers: Sequence[Answer]) -> Check:
    """One check: every answer carried its variant's expected scores."""
    wrong = [answer for answer in answers if not answer.matched]
    if not answers:
        return Check("scores match the manifest", False, "no request was sent")
    detail = wrong[0].detail if wrong else answers[-1].detail
    return Check(
        "scores match the manifest",
        not wrong,
        f"{len(answers) - len(wrong)} of {len(answers)} answers matched; {detail}",
    )


#: Endpoint states that end on their own; anything else is final. The states are DescribeEndpoint's
#: EndpointStatus values:
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html
TRANSITIONAL_STATUSES = ("Creating", "Updating", "SystemUpdating", "RollingBack")


def wait_in_service(
    sagemaker: Any, endpoint_name: str, deadline: Deadline, poll_seconds: float, log: Log
) -> tuple[Check, dict[str, Any]]:
    """Poll DescribeEndpoint until the endpoint leaves a transitional state or time runs out.

    Returns the check "endpoint in service" and the last description.
    """
    while True:
        description = sagemaker.describe_endpoint(EndpointName=endpoint_name)
        status = description.get("EndpointStatus", "")
        if status not in TRANSITIONAL_STATUSES or deadline.expired:
            break
        log(f"endpoint {endpoint_name} is {status}")
        deadline.wait(poll_seconds)
    detail = f"{endpoint_name} is {status}"
    if description.get("FailureReason"):
        detail += f": {description['FailureReason']}"
    return Check("endpoint in service", status == "InService", detail), description
