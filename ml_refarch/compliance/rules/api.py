"""API Gateway in front of SageMaker endpoints (notes: "SG Endpoint").

Endpoints are private and need AWS credentials; a public API goes through API Gateway,
which must then do the authenticating, throttling and logging the endpoint no longer sees.
"""

from __future__ import annotations

from ml_refarch.cfn import Unresolved, as_list, get, literal_text, present, raw, truthy
from ml_refarch.compliance.rules.model import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    Resource,
    rule,
)

METHOD = "AWS::ApiGateway::Method"
_AUTHORIZED = ("AWS_IAM", "COGNITO_USER_POOLS", "CUSTOM")


def _reaches_sagemaker(method: Resource) -> bool:
    uri = literal_text(raw(method.get("Integration.Uri", "")))
    return "runtime.sagemaker" in uri or ":sagemaker:" in uri


def _stages_of(method: Resource) -> list[Resource] | None:
    api = raw(method.get("RestApiId"))
    if not isinstance(api, dict):
        return None  # an imported API: its stages are not in this stack
    return [s for s in method.others("AWS::ApiGateway::Stage") if raw(s.get("RestApiId")) == api]


@rule(
    "AG1",
    types=METHOD,
    applies=_reaches_sagemaker,
    info="An API method that invokes a SageMaker endpoint is open to anyone.",
    explanation=(
        "The endpoint itself accepts only signed requests; an API Gateway method with no "
        "authorization turns it into a public, billable inference service. Use IAM, a Cognito "
        "or Lambda authorizer, or at least API keys with a usage plan."
    ),
    notes="SG Endpoint",
)
def api_method_authorized(resource: Resource):
    kind = resource.get("AuthorizationType")
    if isinstance(kind, Unresolved):
        return NOT_APPLICABLE
    if kind in _AUTHORIZED or truthy(resource.get("ApiKeyRequired")):
        return COMPLIANT
    return NON_COMPLIANT


def _throttled_by_usage_plan(method: Resource, api) -> bool:
    for plan in method.others("AWS::ApiGateway::UsagePlan"):
        throttle = plan.get("Throttle")
        if not present(throttle):
            continue
        if any(raw(get(stage, "ApiId")) == api for stage in as_list(plan.get("ApiStages"))):
            return True
    return False


@rule(
    "AG2",
    types=METHOD,
    applies=_reaches_sagemaker,
    info="An API method that invokes a SageMaker endpoint has no throttling.",
    explanation=(
        "Every request reaches an endpoint billed by instance or by invocation. Stage "
        "method settings (ThrottlingRateLimit and ThrottlingBurstLimit) or a usage plan's "
        "throttle cap what a caller can spend and protect the endpoint from bursts."
    ),
    notes="SG Endpoint",
)
def api_method_throttled(resource: Resource):
    stages = _stages_of(resource)
    if stages is None:
        return NOT_APPLICABLE
    for stage in stages:
        for setting in as_list(stage.get("MethodSettings")):
            if present(get(setting, "ThrottlingRateLimit")) or present(
                get(setting, "ThrottlingBurstLimit")
            ):
                return COMPLIANT
    if _throttled_by_usage_plan(resource, raw(resource.get("RestApiId"))):
        return COMPLIANT
    return NON_COMPLIANT


@rule(
    "AG3",
    types=METHOD,
    applies=_reaches_sagemaker,
    info="An API method that invokes a SageMaker endpoint has no access logging.",
    explanation=(
        "Once API Gateway fronts an endpoint, its access log is the only record of who "
        "called the model and when. Give the stage an AccessLogSetting with a destination."
    ),
    notes="SG Endpoint",
)
def api_method_access_logged(resource: Resource):
    stages = _stages_of(resource)
    if stages is None:
        return NOT_APPLICABLE
    if any(present(stage.get("AccessLogSetting.DestinationArn")) for stage in stages):
        return COMPLIANT
    return NON_COMPLIANT
