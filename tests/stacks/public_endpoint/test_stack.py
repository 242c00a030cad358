"""public-endpoint: the private endpoint, the direct integration, auth, validation, logs, WAF."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ml_refarch.model_artifacts import load_manifest, sample_csv
from ml_refarch.stacks.public_endpoint.outputs import Outputs
from ml_refarch.stacks.public_endpoint.stack import (
    ACCESS_LOG_FIELDS,
    CSV_REQUEST_TEMPLATE,
    MANAGED_RULE_GROUPS,
    STAGE_NAME,
    request_schema,
)
from tests.support import Variant, only_resource, resources_of_type, synthesize

STACK = "MlRefArch-PublicEndpoint"
PE = "public-endpoint."


def synthesize_stack(tmp_path_factory, name: str, context: dict) -> dict:
    """This stack alone, through the compliance gate (every pack, no open findings)."""
    outdir = tmp_path_factory.mktemp(f"cdk.out.public-endpoint-{name}")
    return synthesize(outdir, Variant(context, frozenset({STACK}))).templates[STACK]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> dict:
    return synthesize_stack(tmp_path_factory, "sandbox", {})


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    return synthesize_stack(tmp_path_factory, "production", {"profile": "production"})


@pytest.fixture(scope="module")
def api_key(tmp_path_factory) -> dict:
    """API keys, and the account's existing CloudWatch role."""
    context = {PE + "auth": "api-key", PE + "cloudwatch_role": "existing"}
    return synthesize_stack(tmp_path_factory, "api-key", context)


def logical_id(template: dict, resource_type: str) -> str:
    (found,) = resources_of_type(template, resource_type)
    return found


def method(template: dict) -> dict:
    return only_resource(template, "AWS::ApiGateway::Method")["Properties"]


def stage(template: dict) -> dict:
    return only_resource(template, "AWS::ApiGateway::Stage")


# --------------------------------------------------------------------------------------
# The endpoint stays private, on two or more instances


def test_the_endpoint_runs_two_isolated_instances_that_scale_with_cooldowns(sandbox):
    config = only_resource(sandbox, "AWS::SageMaker::EndpointConfig")["Properties"]
    (variant,) = config["ProductionVariants"]
    assert variant["InitialInstanceCount"] >= 2
    assert "KmsKeyId" in config
    model = only_resource(sandbox, "AWS::SageMaker::Model")["Properties"]
    assert model["EnableNetworkIsolation"] is True
    assert len(model["VpcConfig"]["Subnets"]) >= 2
    target = only_resource(sandbox, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert target["MinCapacity"] >= 2
    policy = only_resource(sandbox, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["ScaleInCooldown"] == 300 and tracking["ScaleOutCooldown"] == 60
    assert len(resources_of_type(sandbox, "AWS::CloudWatch::Alarm")) == 2


def test_nothing_but_the_api_is_public(sandbox):
    # No function URL or resource policy opens another way in; the API is regional.
    assert not resources_of_type(sandbox, "AWS::Lambda::Url")
    api = only_resource(sandbox, "AWS::ApiGateway::RestApi")["Properties"]
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert "Policy" not in api


# --------------------------------------------------------------------------------------
# POST /predict calls the runtime directly, with a role for that endpoint only


def test_post_predict_is_a_direct_sagemaker_runtime_integration(sandbox):
    props = method(sandbox)
    resource = only_resource(sandbox, "AWS::ApiGateway::Resource")["Properties"]
    assert (props["HttpMethod"], resource["PathPart"]) == ("POST", "predict")
    integration = props["Integration"]
    assert integration["Type"] == "AWS" and integration["IntegrationHttpMethod"] == "POST"
    endpoint_id = logical_id(sandbox, "AWS::SageMaker::Endpoint")
    uri = integration["Uri"]["Fn::Join"][1]
    assert ":runtime.sagemaker:path/endpoints/" in uri
    assert {"Fn::GetAtt": [endpoint_id, "EndpointName"]} in uri and uri[-1] == "/invocations"
    assert integration["PassthroughBehavior"] == "NEVER"
    assert integration["RequestParameters"] == {
        "integration.request.header.Content-Type": "'text/csv'",
        "integration.request.header.Accept": "'text/csv'",
    }
    assert integration["RequestTemplates"] == {"application/json": CSV_REQUEST_TEMPLATE}


def test_backend_errors_map_to_400_and_502_without_internal_detail(sandbox):
    responses = {r["StatusCode"]: r for r in method(sandbox)["Integration"]["IntegrationResponses"]}
    assert set(responses) == {"200", "400", "502"}
    assert "SelectionPattern" not in responses["200"]
    assert responses["400"]["SelectionPattern"] == r"4\d{2}"
    assert responses["502"]["SelectionPattern"] == r"5\d{2}"
    for code in ("400", "502"):
        template = responses[code]["ResponseTemplates"]["application/json"]
        assert "$input" not in template and "$context.requestId" in template
    statuses = {r["StatusCode"] for r in method(sandbox)["MethodResponses"]}
    assert statuses == {"200", "400", "502"}


def test_the_integration_role_may_invoke_only_this_endpoint(sandbox):
    role_id = method(sandbox)["Integration"]["Credentials"]["Fn::GetAtt"][0]
    role = sandbox["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert "Policies" not in role and "ManagedPolicyArns" not in role
    attached = [
        resource
        for resource in sandbox["Resources"].values()
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        and {"Ref": role_id} in resource["Properties"].get("Roles", [])
    ]
    (policy,) = attached
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    endpoint_id = logical_id(sandbox, "AWS::SageMaker::Endpoint")
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sagemaker:InvokeEndpoint"
    assert statement["Resource"] == {"Ref": endpoint_id}  # the endpoint's ARN


# --------------------------------------------------------------------------------------
# Authentication


def test_iam_auth_is_the_default_and_has_no_key(sandbox):
    props = method(sandbox)
    assert props["AuthorizationType"] == "AWS_IAM" and props["ApiKeyRequired"] is False
    assert not resources_of_type(sandbox, "AWS::ApiGateway::ApiKey")
    assert Outputs.API_KEY_ID not in sandbox["Outputs"]
    assert sandbox["Outputs"][Outputs.AUTH_MODE]["Value"] == "iam"


def test_api_key_auth_needs_a_key_under_a_throttled_usage_plan_and_outputs_only_its_id(api_key):
    props = method(api_key)
    assert props["AuthorizationType"] == "NONE" and props["ApiKeyRequired"] is True
    key_id = logical_id(api_key, "AWS::ApiGateway::ApiKey")
    assert "Value" not in api_key["Resources"][key_id]["Properties"]
    plan = only_resource(api_key, "AWS::ApiGateway::UsagePlan")["Properties"]
    assert plan["Throttle"] == {"RateLimit": 10, "BurstLimit": 20}
    assert plan["Quota"] == {"Limit": 10000, "Period": "DAY"}
    (api_stage,) = plan["ApiStages"]
    assert api_stage["Stage"] == {"Ref": logical_id(api_key, "AWS::ApiGateway::Stage")}
    link = only_resource(api_key, "AWS::ApiGateway::UsagePlanKey")["Properties"]
    assert link["KeyId"] == {"Ref": key_id} and link["KeyType"] == "API_KEY"
    assert api_key["Outputs"][Outputs.API_KEY_ID]["Value"] == {"Ref": key_id}
    assert api_key["Outputs"][Outputs.AUTH_MODE]["Value"] == "api-key"


# --------------------------------------------------------------------------------------
# Request validation and the CSV mapping template


def test_the_body_is_validated_against_the_rows_schema(sandbox):
    props = method(sandbox)
    validator_id = props["RequestValidatorId"]["Ref"]
    validator = sandbox["Resources"][validator_id]["Properties"]
    assert validator["ValidateRequestBody"] is True
    model_id = logical_id(sandbox, "AWS::ApiGateway::Model")
    assert props["RequestModels"] == {"application/json": {"Ref": model_id}}
    model = sandbox["Resources"][model_id]["Properties"]
    assert model["ContentType"] == "application/json"
    assert model["Schema"] == request_schema(50)
    rows = model["Schema"]["properties"]["instances"]
    assert (rows["minItems"], rows["maxItems"]) == (1, 50)
    assert rows["items"]["minItems"] == rows["items"]["maxItems"] == 8
    assert rows["items"]["items"] == {"type": "number"}
    assert model["Schema"]["additionalProperties"] is False
    response = only_resource(sandbox, "AWS::ApiGateway::GatewayResponse")["Properties"]
    assert (response["ResponseType"], response["StatusCode"]) == ("BAD_REQUEST_BODY", "400")
    assert (
        "$context.error.validationErrorString" in response["ResponseTemplates"]["application/json"]
    )


def test_max_rows_sets_the_schema_limit(tmp_path):
    result = synthesize(tmp_path, Variant({PE + "max_rows_per_request": 7}, frozenset({STACK})))
    model = only_resource(result.templates[STACK], "AWS::ApiGateway::Model")["Properties"]
    assert model["Schema"]["properties"]["instances"]["maxItems"] == 7


class _Velocity:
    """A tiny evaluator for the subset of Velocity the request template uses.

    ``#set($x = $util.urlDecode("..."))``, ``#foreach($x in $ref)`` over
    ``$input.path('$.key')`` or a variable, ``#if($foreach.hasNext)``, ``#end`` and ``$x``.
    Numbers print as Java prints them (API Gateway's JSONPath gives Integer or Double).
    """

    TOKEN = re.compile(
        r"#set\(\$(?P<set>\w+) = \$util\.urlDecode\(\"(?P<encoded>[^\"]*)\"\)\)"
        r"|#foreach\(\$(?P<var>\w+) in \$(?P<source>input\.path\('\$\.(?P<key>\w+)'\)|\w+)\)"
        r"|(?P<if>#if\(\$foreach\.hasNext\))"
        r"|(?P<end>#end)"
        r"|\$(?P<ref>\w+)"
    )

    def __init__(self, template: str):
        self.nodes, rest = self._parse(template, 0)
        assert rest == len(template), "unbalanced #end"

    def _parse(self, text: str, position: int) -> tuple[list, int]:
        nodes: list[Any] = []
        while position < len(text):
            match = self.TOKEN.search(text, position)
            if match is None:
                nodes.append(("text", text[position:]))
                return nodes, len(text)
            if match.start() > position:
                nodes.append(("text", text[position : match.start()]))
            position = match.end()
            if match["end"]:
                return nodes, -position  # a negative position marks a closed block
            if match["set"]:
                from urllib.parse import unquote

                nodes.append(("set", match["set"], unquote(match["encoded"])))
            elif match["ref"]:
                nodes.append(("ref", match["ref"]))
            else:
                body, closed = self._parse(text, position)
                assert closed < 0, "block without #end"
                position = -closed
                if match["if"]:
                    nodes.append(("if", body))
                else:
                    nodes.append(("foreach", match["var"], match["source"], match["key"], body))
        return nodes, position

    def render(self, body: dict) -> str:
        return self._run(self.nodes, {"body": body}, has_next=False)

    def _run(self, nodes: list, scope: dict, has_next: bool) -> str:
        out = []
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "set":
                scope[node[1]] = node[2]
            elif kind == "ref":
                out.append(_java(scope[node[1]]))
            elif kind == "if":
                if has_next:
                    out.append(self._run(node[1], scope, has_next))
            else:
                _, var, source, key, body = node
                items = scope["body"][key] if key else scope[source]
                for index, item in enumerate(items):
                    scope[var] = item
                    out.append(self._run(body, scope, index < len(items) - 1))
        return "".join(out)


def _java(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if value == int(value) and abs(value) < 1e7:
        return f"{value:.1f}"
    return repr(value)


def test_the_template_turns_json_rows_into_the_csv_the_container_reads():
    manifest = load_manifest()
    rows = [[float(value) for value in row.split(",")] for row in manifest["samples"]["rows"]]
    rendered = _Velocity(CSV_REQUEST_TEMPLATE).render({"instances": rows})
    expected = sample_csv(manifest)
    assert rendered.endswith("\n") and rendered.count("\n") == expected.count("\n") == len(rows)
    for got, want in zip(rendered.splitlines(), expected.splitlines(), strict=True):
        assert [float(v) for v in got.split(",")] == [float(v) for v in want.split(",")]


def test_the_template_keeps_integers_and_single_rows():
    rendered = _Velocity(CSV_REQUEST_TEMPLATE).render({"instances": [[1, 2, 3, 4, 5, 6, 7, -8]]})
    assert rendered == "1,2,3,4,5,6,7,-8\n"


def test_the_template_has_no_literal_line_breaks():
    # Velocity's handling of line breaks after directives varies; the newline comes from
    # $util.urlDecode("%0A") only.
    assert "\n" not in CSV_REQUEST_TEMPLATE
    assert '$util.urlDecode("%0A")' in CSV_REQUEST_TEMPLATE


# --------------------------------------------------------------------------------------
# Stage: throttling, logs, tracing


def test_the_stage_is_throttled_logged_and_traced(sandbox):
    props = stage(sandbox)["Properties"]
    assert props["StageName"] == STAGE_NAME and props["TracingEnabled"] is True
    (settings,) = props["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (10, 20)
    assert settings["LoggingLevel"] == "INFO" and settings["MetricsEnabled"] is True
    assert settings["DataTraceEnabled"] is False  # bodies are customer data
    access = props["AccessLogSetting"]
    assert json.loads(access["Format"]) == ACCESS_LOG_FIELDS
    log_group_ref = access["DestinationArn"]["Fn::Join"][1][-1]
    log_group = sandbox["Resources"][log_group_ref["Ref"]]["Properties"]
    assert "KmsKeyId" in log_group and log_group["RetentionInDays"] == 7


def test_the_execution_log_group_exists_first_encrypted(sandbox, production):
    for template, days in ((sandbox, 7), (production, 365)):
        groups = {
            lid: r
            for lid, r in resources_of_type(template, "AWS::Logs::LogGroup").items()
            if "API-Gateway-Execution-Logs_" in json.dumps(r["Properties"].get("LogGroupName"))
        }
        ((group_id, group),) = groups.items()
        name = group["Properties"]["LogGroupName"]["Fn::Join"][1]
        assert name == [
            "API-Gateway-Execution-Logs_",
            {"Ref": logical_id(template, "AWS::ApiGateway::RestApi")},
            f"/{STAGE_NAME}",
        ]
        assert "KmsKeyId" in group["Properties"]
        assert group["Properties"]["RetentionInDays"] == days
        assert group_id in stage(template)["DependsOn"]


def test_the_account_cloudwatch_role_is_set_before_the_stage_and_retained(sandbox):
    account_id = logical_id(sandbox, "AWS::ApiGateway::Account")
    assert account_id in stage(sandbox)["DependsOn"]
    role_id = sandbox["Resources"][account_id]["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = sandbox["Resources"][role_id]
    assert role["DeletionPolicy"] == "Retain"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    (policy,) = [
        r
        for r in resources_of_type(sandbox, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    assert policy["DeletionPolicy"] == "Retain"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert all(action.startswith("logs:") for action in statement["Action"])
    assert statement["Resource"]["Fn::Join"][1][-1] == ":log-group:*"


def test_an_existing_cloudwatch_role_leaves_the_account_setting_alone(api_key):
    assert not resources_of_type(api_key, "AWS::ApiGateway::Account")
    assert "DependsOn" not in stage(api_key) or all(
        not dep.startswith("ApiGatewayAccount") for dep in stage(api_key)["DependsOn"]
    )


# --------------------------------------------------------------------------------------
# WAF: production only


def test_the_sandbox_has_no_web_acl(sandbox):
    assert not resources_of_type(sandbox, "AWS::WAFv2::WebACL")
    assert Outputs.WEB_ACL_ARN not in sandbox["Outputs"]


def test_production_puts_a_logged_web_acl_on_the_stage(production):
    acl_id = logical_id(production, "AWS::WAFv2::WebACL")
    acl = production["Resources"][acl_id]["Properties"]
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert set(rules) == {*MANAGED_RULE_GROUPS, "RatePerIp"}
    for group in MANAGED_RULE_GROUPS:
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert statement == {"Name": group, "VendorName": "AWS"}
        assert rules[group]["OverrideAction"] == {"None": {}}  # the groups' own actions
    rate = rules["RatePerIp"]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {"AggregateKeyType": "IP", "Limit": 1000}
    assert len({rule["Priority"] for rule in acl["Rules"]}) == 3
    association = only_resource(production, "AWS::WAFv2::WebACLAssociation")["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    arn = association["ResourceArn"]["Fn::Join"][1]
    api_id = logical_id(production, "AWS::ApiGateway::RestApi")
    assert arn[-3:] == ["::/restapis/", {"Ref": api_id}, f"/stages/{STAGE_NAME}"]
    logging = only_resource(production, "AWS::WAFv2::LoggingConfiguration")["Properties"]
    assert logging["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    (destination,) = logging["LogDestinationConfigs"]
    assert destination["Fn::Join"][1][-1] == ":log-group:aws-waf-logs-mlrefarch-publicendpoint"
    redacted = {field["SingleHeader"]["Name"] for field in logging["RedactedFields"]}
    assert redacted == {"authorization", "x-api-key"}


# --------------------------------------------------------------------------------------
# Outputs the smoke script reads


def test_outputs_name_what_the_smoke_script_needs(sandbox):
    outputs = sandbox["Outputs"]
    for name in (
        Outputs.API_URL,
        Outputs.PREDICT_URL,
        Outputs.AUTH_MODE,
        Outputs.MAX_ROWS_PER_REQUEST,
        Outputs.ENDPOINT_NAME,
    ):
        assert name in outputs, name
    assert outputs[Outputs.MAX_ROWS_PER_REQUEST]["Value"] == "50"
    parts = outputs[Outputs.PREDICT_URL]["Value"]["Fn::Join"][1]
    assert parts[-1] == "/predict"
    assert {"Ref": logical_id(sandbox, "AWS::ApiGateway::Stage")} in parts
