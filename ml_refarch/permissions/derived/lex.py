"""Lex V2 bots and aliases: what the bot's role and the alias's code hook are called for.

- ``AWS::Lex::Bot``: Lex V2 assumes the bot's ``RoleArn`` to call Polly for a voice
  response (``polly:SynthesizeSpeech``, resource ``*``: the whole of the service-linked
  role's policy, "AmazonLexV2BotPolicy",
  https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonLexV2BotPolicy.html).
- ``AWS::Lex::BotAlias``: the alias's Lambda code hook is invoked by
  ``lexv2.amazonaws.com`` with the alias as source ("Resource-based policy examples for
  Amazon Lex V2",
  https://docs.aws.amazon.com/lexv2/latest/dg/security_iam_resource-based-policy-examples.html),
  and its conversation logs are written as the bot's role: text with
  ``logs:CreateLogStream`` and ``logs:PutLogEvents`` on the log group, audio with
  ``s3:PutObject`` under the prefix and, for a KMS key, ``kms:GenerateDataKey`` ("IAM
  Policies for Conversation Logs",
  https://docs.aws.amazon.com/lexv2/latest/dg/conversation-logs-policies.html). Another
  alias of the same bot (the built-in test alias ``TSTALIASID``) must not reach the
  function.
"""

from __future__ import annotations

from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.derived.logs_and_functions import log_stream_arn
from ml_refarch.permissions.derived.storage import S3Location, write_calls
from ml_refarch.permissions.scenarios import Call, Scenario
from ml_refarch.permissions.values import ACCOUNT, REGION

SERVICE_LINKED_POLICY = (
    "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonLexV2BotPolicy.html"
)
RESOURCE_POLICIES = (
    "https://docs.aws.amazon.com/lexv2/latest/dg/security_iam_resource-based-policy-examples.html"
)
LOG_POLICIES = "https://docs.aws.amazon.com/lexv2/latest/dg/conversation-logs-policies.html"
LEX = "lexv2.amazonaws.com"
#: The ARN of another alias of a bot: Lex's built-in test alias.
TEST_ALIAS = f"arn:aws:lex:{REGION}:{ACCOUNT}:bot-alias/${{%s}}/TSTALIASID"


@derives("AWS::Lex::Bot")
def bot_role(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.get("RoleArn"))
    if role is None:
        return []
    return [
        resource.scenario(
            "Lex V2 speaks the bot's answers with Polly",
            role,
            SERVICE_LINKED_POLICY,
            [Call("polly:SynthesizeSpeech", "*")],
            on_behalf_of="Lex V2, answering a speech request",
        )
    ]


def _code_hook_calls(resource: Resource) -> list[Call]:
    calls = []
    bot = resource.resource_of(resource.get("BotId"), "AWS::Lex::Bot")
    for setting in cfn.as_list(resource.get("BotAliasLocaleSettings")):
        arn = cfn.get(setting, "BotAliasLocaleSetting.CodeHookSpecification.LambdaCodeHook")
        function = resource.resource_of(
            cfn.get(arn, "LambdaArn") if isinstance(arn, dict) else None, "AWS::Lambda::Function"
        )
        if function is None:
            continue
        alias = {"aws:SourceArn": "${" + resource.logical_id + ".Arn}"}
        calls.append(Call("lambda:InvokeFunction", "${" + function + ".Arn}", alias | _account()))
        if bot is not None:
            other = {"aws:SourceArn": TEST_ALIAS % bot}
            calls.append(
                Call("lambda:InvokeFunction", "${" + function + ".Arn}", other | _account(),
                     expect="deny")
            )  # fmt: skip
    return calls


def _account() -> dict[str, Any]:
    return {"aws:SourceAccount": ACCOUNT}


def _log_calls(resource: Resource, role: str) -> list[Call]:
    calls = []
    for setting in cfn.as_list(resource.get("ConversationLogSettings.TextLogSettings")):
        group = resource.resource_of(
            cfn.get(setting, "Destination.CloudWatch.CloudWatchLogGroupArn"),
            "AWS::Logs::LogGroup",
        )
        if group is not None and cfn.get(setting, "Enabled") is not False:
            stream = log_stream_arn("${" + group + "}")
            calls += [Call("logs:CreateLogStream", stream), Call("logs:PutLogEvents", stream)]
    for setting in cfn.as_list(resource.get("ConversationLogSettings.AudioLogSettings")):
        destination = cfn.get(setting, "Destination.S3Bucket") or {}
        bucket = resource.resource_of(cfn.get(destination, "S3BucketArn"), "AWS::S3::Bucket")
        if bucket is None or cfn.get(setting, "Enabled") is False:
            continue
        prefix = cfn.get(destination, "LogPrefix") or ""
        place = S3Location("s3://${" + bucket + "}/" + str(prefix), bucket)
        object_arn = "${" + bucket + ".Arn}/" + f"{prefix}session-0123/audio.wav"
        calls += write_calls(resource, place, object_arn, cfn.get(destination, "KmsKeyArn"))
    return calls


@derives("AWS::Lex::BotAlias")
def alias_calls(resource: Resource) -> list[Scenario]:
    scenarios = []
    hooks = _code_hook_calls(resource)
    if hooks:
        scenarios.append(
            resource.scenario(
                "Lex V2 invokes the alias's code hook (and no other alias may)",
                "service:" + LEX,
                RESOURCE_POLICIES,
                hooks,
                on_behalf_of="Lex V2, on each turn of a conversation with the alias",
            )
        )
    bot = resource.resource_of(resource.get("BotId"), "AWS::Lex::Bot")
    role = resource.role_of(resource.properties_of(bot).get("RoleArn")) if bot else None
    logs = _log_calls(resource, role) if role else []
    if logs and role:
        scenarios.append(
            resource.scenario(
                "Lex V2 writes the alias's conversation logs as the bot's role",
                role,
                LOG_POLICIES,
                logs,
                on_behalf_of="Lex V2, after each turn of a conversation with the alias",
            )
        )
    return scenarios
