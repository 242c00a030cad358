"""Pattern ``public-endpoint``: a private SageMaker endpoint behind an authenticated REST API.

Notes sections "SG Endpoint" (an endpoint is never public: callers need AWS credentials, and
a public API goes through API Gateway), "Inference" (two or more instances so SageMaker
spreads them across Availability Zones, auto scaling with cooldowns) and "Security".
Resources:

- the ``churn-v1`` model on a real-time endpoint (network isolated, in the isolated VPC,
  KMS-encrypted volumes, target tracking, 5xx and latency alarms to an encrypted topic),
- a regional REST API with one method, ``POST /predict``, integrated directly with the
  SageMaker runtime (an AWS service integration, no Lambda function): API Gateway assumes a
  role that may call ``sagemaker:InvokeEndpoint`` on this one endpoint and nothing else,
- callers authenticate with SigV4 (``AWS_IAM``, the default) or with an API key under a
  usage plan that throttles and sets a daily quota,
- the body is validated against a JSON-schema model (``{"instances": [[8 numbers], ...]}``)
  before anything reaches the endpoint, and a mapping template turns it into the CSV rows
  the XGBoost container reads,
- stage throttling, JSON access logs and execution logs in KMS-encrypted log groups, metrics
  and X-Ray tracing,
- in the production profile, a WAF web ACL (AWS managed common and known-bad-inputs rule
  groups, a per-IP rate limit) on the stage, logging to an encrypted log group.

API Gateway writes logs through one CloudWatch role per account and region
(``AWS::ApiGateway::Account``). ``public-endpoint.cloudwatch_role`` decides whether this stack
sets it (``create``) or relies on the one the account has (``existing``); see
docs/patterns/public-endpoint.md.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2

from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs.hosting import ModelArtifact
from ml_refarch.constructs.log_group import acknowledge_short_retention
from ml_refarch.constructs.model_endpoint import HostingFoundation, ModelEndpoint, ServedModel
from ml_refarch.constructs.service_role import service_role
from ml_refarch.model_artifacts import DATASET_FEATURES, DEFAULT_MODEL
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.public_endpoint.outputs import Outputs
from ml_refarch.stacks.public_endpoint.settings import PublicEndpointSettings

STAGE_NAME = "v1"
RESOURCE_PATH = "predict"

#: The integration request template: ``{"instances": [[...], ...]}`` to one CSV row per
#: instance, each ended by a newline. ``$util.urlDecode("%0A")`` gives the newline, so the
#: template's own line breaks (which Velocity may or may not keep) never matter.
CSV_REQUEST_TEMPLATE = (
    '#set($newline = $util.urlDecode("%0A"))'
    "#foreach($row in $input.path('$.instances'))"
    "#foreach($value in $row)$value#if($foreach.hasNext),#end#end"
    "$newline"
    "#end"
)

#: What callers get when the endpoint refuses or fails: no internal detail, but the request
#: id that finds the call in the access and execution logs.
CLIENT_ERROR_TEMPLATE = (
    '{"message": "the model could not score the request", "requestId": "$context.requestId"}'
)
SERVER_ERROR_TEMPLATE = (
    '{"message": "the model endpoint is unavailable", "requestId": "$context.requestId"}'
)
#: Validation failures name what was wrong with the body (AWS's documented template).
BAD_BODY_TEMPLATE = (
    '{"message": $context.error.messageString, '
    '"validationErrors": "$context.error.validationErrorString", '
    '"requestId": "$context.requestId"}'
)

#: One JSON object per request in the access log; every value is a plain $context field.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "sourceIp": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "apiKeyId": "$context.identity.apiKeyId",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "errorType": "$context.error.responseType",
    "integrationStatus": "$context.integration.status",
    "integrationLatencyMs": "$context.integration.latency",
    "responseLatencyMs": "$context.responseLatency",
    "wafStatus": "$context.waf.status",
    "xrayTraceId": "$context.xrayTraceId",
}

#: AWS managed rule groups the production web ACL applies, in priority order.
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")


def request_schema(max_rows: int, features: int = DATASET_FEATURES) -> dict:
    """The JSON schema (draft 4) of a ``POST /predict`` body, as a plain dictionary.

    Exactly one key, ``instances``: 1 to ``max_rows`` rows of exactly ``features`` numbers.
    """
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "PredictRequest",
        "type": "object",
        "required": ["instances"],
        "additionalProperties": False,
        "properties": {
            "instances": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_rows,
                "items": {
                    "type": "array",
                    "minItems": features,
                    "maxItems": features,
                    "items": {"type": "number"},
                },
            }
        },
    }


def _json_schema(max_rows: int) -> apigw.JsonSchema:
    row = apigw.JsonSchema(
        type=apigw.JsonSchemaType.ARRAY,
        min_items=DATASET_FEATURES,
        max_items=DATASET_FEATURES,
        items=apigw.JsonSchema(type=apigw.JsonSchemaType.NUMBER),
    )
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        title="PredictRequest",
        type=apigw.JsonSchemaType.OBJECT,
        required=["instances"],
        additional_properties=False,
        properties={
            "instances": apigw.JsonSchema(
                type=apigw.JsonSchemaType.ARRAY, min_items=1, max_items=max_rows, items=row
            )
        },
    )


class PublicEndpointStack(PatternStack):
    """A multi-AZ endpoint reachable only through ``POST /predict`` of a REST API.

    Attributes:
        endpoint: the real-time endpoint.
        api: the REST API; ``api.deployment_stage`` is the ``v1`` stage.
        method: ``POST /predict``.
        integration_role: the role API Gateway calls the endpoint with.
        access_logs / execution_logs: the stage's log groups.
        api_key / usage_plan: with ``auth=api-key`` only, else ``None``.
        web_acl: the WAF web ACL in the production profile, else ``None``.
    """

    def build(self, settings: PublicEndpointSettings) -> None:
        artifact = ModelArtifact(self, "Artifact", model_name=DEFAULT_MODEL)
        foundation = HostingFoundation(
            self, "Hosting", defaults=self.defaults, purpose="public endpoint", artifacts=[artifact]
        )
        self.key = foundation.key
        self.endpoint = ModelEndpoint(
            self,
            "Default",
            foundation=foundation,
            models=[ServedModel.xgboost(self, artifact)],
            hosting=settings,
        ).endpoint

        self.api = self._api(self.node.id)
        self.integration_role = self._integration_role()
        self.method = self._predict_method()
        self.api_key: apigw.IApiKey | None = None
        self.usage_plan: apigw.UsagePlan | None = None
        if settings.auth == "api-key":
            self._usage_plan()
        self.web_acl: wafv2.CfnWebACL | None = None
        if self.profile.web_acl:
            self._web_acl()
        else:
            acknowledge(
                self.api.deployment_stage,
                "Sandbox stages run without a WAF web ACL: it would add $5 a month plus $1 per "
                "rule while the sandbox idles. Callers still need SigV4 or an API key, bodies "
                "are schema-validated and the stage is throttled; production adds the ACL.",
                controls.APIGW_WAF,
            )
        self._acknowledge_stage()

        self.output(Outputs.API_URL, self.api.url, "Base URL of the v1 stage")
        self.output(
            Outputs.PREDICT_URL, self.api.url_for_path(f"/{RESOURCE_PATH}"), "POST JSON rows here"
        )
        self.output(Outputs.AUTH_MODE, settings.auth, "iam (SigV4) or api-key (x-api-key header)")
        self.output(
            Outputs.MAX_ROWS_PER_REQUEST, str(settings.max_rows_per_request), "Rows a body may hold"
        )
        self.output(Outputs.REST_API_ID, self.api.rest_api_id, "The REST API")
        self.output(Outputs.STAGE_NAME, STAGE_NAME, "The deployed stage")
        self.output(
            Outputs.ENDPOINT_NAME, self.endpoint.endpoint_name, "The private SageMaker endpoint"
        )
        self.output(
            Outputs.INTEGRATION_ROLE_ARN, self.integration_role.role_arn, "Role API Gateway uses"
        )
        self.output(
            Outputs.ACCESS_LOG_GROUP_NAME, self.access_logs.log_group_name, "JSON access logs"
        )
        self.output(Outputs.ALERT_TOPIC_ARN, foundation.topic.topic_arn, "Endpoint alarms")
        if self.api_key is not None:
            self.output(
                Outputs.API_KEY_ID, self.api_key.key_id, "Key id; read the value with get-api-key"
            )
        if self.web_acl is not None:
            self.output(Outputs.WEB_ACL_ARN, self.web_acl.attr_arn, "WAF web ACL on the stage")

    # --- the API -------------------------------------------------------------------------

    def _api(self, construct_id: str) -> apigw.RestApi:
        settings = self.settings
        self.access_logs = self.log_group("AccessLogs", self.key)
        api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{construct_id}-predict",
            description="POST /predict scores churn rows on a private SageMaker endpoint",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The account-wide CloudWatch role is managed below, deliberately.
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                logging_level=apigw.MethodLoggingLevel.INFO,
                # Request and response bodies are customer features and scores: keep them
                # out of the execution logs.
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=settings.throttle_rate_per_second,
                throttling_burst_limit=settings.throttle_burst,
            ),
        )
        api.add_gateway_response(
            "BadRequestBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            status_code="400",
            templates={"application/json": BAD_BODY_TEMPLATE},
        )
        stage = api.deployment_stage
        # API Gateway would create the execution log group itself, unencrypted and kept
        # forever; creating it first gives it the stack's key and the profile's retention.
        self.execution_logs = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=cdk.Fn.join(
                "", ["API-Gateway-Execution-Logs_", api.rest_api_id, f"/{STAGE_NAME}"]
            ),
            encryption_key=self.key,
            **self.defaults.log_group_props(),
        )
        acknowledge_short_retention(self.execution_logs)
        stage.node.add_dependency(self.execution_logs)
        if settings.cloudwatch_role == "create":
            stage.node.add_dependency(self._account_logging_role())
        return api

    def _account_logging_role(self) -> apigw.CfnAccount:
        """The region's API Gateway CloudWatch role: what lets any stage write logs.

        It is a setting of the account and region, not of this API, so it outlives the
        stack: the role and its policy are retained, because deleting them would silently
        stop the logs of every other API in the region.
        """
        stack = cdk.Stack.of(self)
        log_groups = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
        role, policy = service_role(
            self,
            "ApiGatewayLogs",
            service="apigateway.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            description="API Gateway CloudWatch Logs role of this account and region",
            policy_description="Lets API Gateway create and write the log groups of stages",
            statements=[
                iam.PolicyStatement(
                    sid="StageLogs",
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                        "logs:GetLogEvents",
                        "logs:FilterLogEvents",
                    ],
                    resources=[log_groups],
                )
            ],
        )
        acknowledge(
            policy,
            "The API Gateway CloudWatch role is shared by every REST API stage in this account "
            "and region, whose access and execution log groups have names chosen per API, so "
            "it may write to any log group of this account and region, and no other.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:*]",
        )
        for retained in (role, policy):
            retained.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        account = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        account.node.add_dependency(policy)
        return account

    def _integration_role(self) -> iam.Role:
        # A customer-managed policy rather than grant_invoke's default (inline) policy.
        role, _ = service_role(
            self,
            "Integration",
            service="apigateway.amazonaws.com",
            description="API Gateway calls InvokeEndpoint on the public-endpoint endpoint only",
            policy_description="InvokeEndpoint on the public-endpoint endpoint, nothing else",
            statements=[self.endpoint.invoke_statement()],
        )
        return role

    def _predict_method(self) -> apigw.Method:
        settings = self.settings
        integration = self._predict_integration()
        model = self.api.add_model(
            "PredictRequest",
            content_type="application/json",
            model_name="PredictRequest",
            description=f"1 to {settings.max_rows_per_request} rows of {DATASET_FEATURES} numbers",
            schema=_json_schema(settings.max_rows_per_request),
        )
        validator = self.api.add_request_validator(
            "BodyValidator",
            request_validator_name="predict-body",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        iam_auth = settings.auth == "iam"
        resource = self.api.root.add_resource(RESOURCE_PATH)
        method = resource.add_method(
            "POST",
            integration,
            authorization_type=(
                apigw.AuthorizationType.IAM if iam_auth else apigw.AuthorizationType.NONE
            ),
            api_key_required=not iam_auth,
            request_validator=validator,
            request_models={"application/json": model},
            method_responses=[
                apigw.MethodResponse(
                    status_code="200",
                    response_parameters={"method.response.header.Content-Type": True},
                ),
                apigw.MethodResponse(status_code="400"),
                apigw.MethodResponse(status_code="502"),
            ],
        )
        acknowledge(
            method,
            "Callers are AWS principals or applications of the team, not end users with "
            "a Cognito user pool; "
            + (
                "they sign requests with SigV4 and IAM policies decide who may call."
                if iam_auth
                else "they present an API key of a usage plan that throttles and caps them."
            ),
            "AwsSolutions-COG4",
            *(() if iam_auth else ("AwsSolutions-APIG4",)),
        )
        return method

    def _predict_integration(self) -> apigw.AwsIntegration:
        """JSON rows in, CSV to InvokeEndpoint, its answer (or a 400/502 body) back."""
        return apigw.AwsIntegration(
            service="runtime.sagemaker",
            path=f"endpoints/{self.endpoint.endpoint_name}/invocations",
            integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=self.integration_role,
                # Only JSON bodies have a template; anything else is refused with 415.
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_parameters={
                    "integration.request.header.Content-Type": "'text/csv'",
                    "integration.request.header.Accept": "'text/csv'",
                },
                request_templates={"application/json": CSV_REQUEST_TEMPLATE},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="200",
                        response_parameters={
                            "method.response.header.Content-Type": (
                                "integration.response.header.Content-Type"
                            )
                        },
                    ),
                    apigw.IntegrationResponse(
                        status_code="400",
                        selection_pattern=r"4\d{2}",
                        response_templates={"application/json": CLIENT_ERROR_TEMPLATE},
                    ),
                    apigw.IntegrationResponse(
                        status_code="502",
                        selection_pattern=r"5\d{2}",
                        response_templates={"application/json": SERVER_ERROR_TEMPLATE},
                    ),
                ],
            ),
        )

    def _usage_plan(self) -> None:
        settings = self.settings
        self.api_key = self.api.add_api_key(
            "ApiKey", description="Key of the public-endpoint usage plan"
        )
        self.usage_plan = self.api.add_usage_plan(
            "UsagePlan",
            description="Throttle and daily quota of the predict API's key",
            throttle=apigw.ThrottleSettings(
                rate_limit=settings.throttle_rate_per_second,
                burst_limit=settings.throttle_burst,
            ),
            quota=apigw.QuotaSettings(
                limit=settings.quota_requests_per_day, period=apigw.Period.DAY
            ),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        self.usage_plan.add_api_key(self.api_key)

    def _acknowledge_stage(self) -> None:
        acknowledge(
            self.api.deployment_stage,
            "API Gateway caches only GET methods by default and POST /predict answers each "
            "body anew; a cache cluster would bill every hour for nothing.",
            controls.APIGW_CACHE_ENCRYPTED,
            checkov=("CKV_AWS_120",),
        )
        acknowledge(
            self.api.deployment_stage,
            "The only backend is the SageMaker runtime API, which API Gateway calls over TLS "
            "signed with the integration role; a client certificate authenticates HTTP "
            "backends and has nothing to do here.",
            controls.APIGW_BACKEND_CERTIFICATE,
        )

    # --- WAF (production) ----------------------------------------------------------------

    def _web_acl(self) -> None:
        stack = cdk.Stack.of(self)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            description="Managed rule groups and a per-IP rate limit in front of POST /predict",
            rules=self._waf_rules(),
            visibility_config=_visibility("PublicEndpointWebAcl"),
        )
        stage_arn = stack.format_arn(
            service="apigateway",
            account="",
            resource="/restapis",
            resource_name=f"{self.api.rest_api_id}/stages/{STAGE_NAME}",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        association = wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        association.node.add_dependency(self.api.deployment_stage)
        self._waf_logging()

    def _waf_rules(self) -> list[wafv2.CfnWebACL.RuleProperty]:
        """The managed rule groups, in order, then a per-IP rate limit."""
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerIp",
                priority=len(MANAGED_RULE_GROUPS),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=self.settings.waf_requests_per_5_minutes,
                        aggregate_key_type="IP",
                    )
                ),
                visibility_config=_visibility("RatePerIp"),
            )
        )
        return rules

    def _waf_logging(self) -> None:
        """The web ACL's log, without the credentials requests carry."""
        stack = cdk.Stack.of(self)
        # WAF accepts only log groups named aws-waf-logs-*, and an ARN without ":*".
        waf_log_name = f"aws-waf-logs-{stack.stack_name.lower()}"
        waf_logs = logs.LogGroup(
            self,
            "WafLogs",
            log_group_name=waf_log_name,
            encryption_key=self.key,
            **self.defaults.log_group_props(),
        )
        acknowledge_short_retention(waf_logs)
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=waf_log_name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            # Signatures and keys are credentials: never write them to the log.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": "authorization"}
                ),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": "x-api-key"}
                ),
            ],
        )
        logging.node.add_dependency(waf_logs)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    """CloudWatch metrics and sampled requests under ``name``."""
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )
