"""MLS-AG*: API Gateway methods in front of a SageMaker endpoint."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from tests.compliance.rules.support import mls_findings


def api(
    stack: cdk.Stack,
    *,
    authorization: apigw.AuthorizationType = apigw.AuthorizationType.IAM,
    api_key_required: bool = False,
    throttled: bool = True,
    logged: bool = True,
    target: str = "sagemaker",
) -> apigw.RestApi:
    """A REST API with POST /predict invoking an endpoint (every AG rule passes by default)."""
    stage_options = apigw.StageOptions(
        throttling_rate_limit=10 if throttled else None,
        throttling_burst_limit=20 if throttled else None,
        access_log_destination=(
            apigw.LogGroupLogDestination(logs.LogGroup(stack, "Access")) if logged else None
        ),
    )
    rest_api = apigw.RestApi(stack, "Api", deploy_options=stage_options, cloud_watch_role=False)
    role = iam.Role(stack, "Invoke", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))
    if target == "sagemaker":
        integration = apigw.AwsIntegration(
            service="runtime.sagemaker",
            path="endpoints/my-endpoint/invocations",
            integration_http_method="POST",
            options=apigw.IntegrationOptions(credentials_role=role),
        )
    else:
        integration = apigw.MockIntegration()
    rest_api.root.add_resource("predict").add_method(
        "POST",
        integration,
        authorization_type=authorization,
        api_key_required=api_key_required,
    )
    return rest_api


def test_compliant_api_passes():
    assert mls_findings(api) == []


@pytest.mark.parametrize(
    ("options", "rule_id"),
    [
        ({"authorization": apigw.AuthorizationType.NONE}, "MLS-AG1"),
        ({"throttled": False}, "MLS-AG2"),
        ({"logged": False}, "MLS-AG3"),
    ],
)
def test_each_missing_control_raises_its_rule(options, rule_id):
    assert mls_findings(lambda stack: api(stack, **options)) == [rule_id]


def test_api_keys_count_as_authorization():
    findings = mls_findings(
        lambda stack: api(stack, authorization=apigw.AuthorizationType.NONE, api_key_required=True)
    )
    assert findings == []


def test_usage_plan_throttle_counts_as_throttling():
    def build(stack):
        rest_api = api(stack, throttled=False)
        rest_api.add_usage_plan(
            "Plan",
            throttle=apigw.ThrottleSettings(rate_limit=5, burst_limit=10),
            api_stages=[apigw.UsagePlanPerApiStage(api=rest_api, stage=rest_api.deployment_stage)],
        )

    assert mls_findings(build) == []


def test_methods_that_do_not_reach_sagemaker_are_not_applicable():
    findings = mls_findings(
        lambda stack: api(
            stack,
            target="mock",
            authorization=apigw.AuthorizationType.NONE,
            throttled=False,
            logged=False,
        )
    )
    assert findings == []
