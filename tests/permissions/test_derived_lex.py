"""The Lex V2 derivers: the alias's code hook invocation and conversation logs, the bot's
Polly call, evaluated on the lex-chatbot template and on broken copies of it."""

from __future__ import annotations

import copy

import pytest

from ml_refarch.cfn import resources_of_type
from ml_refarch.permissions.derive import derived_scenarios
from ml_refarch.permissions.run import evaluate
from ml_refarch.stacks.lex_chatbot import PATTERN
from tests.support import pattern_template


@pytest.fixture(scope="module")
def text_only() -> dict:
    return pattern_template(PATTERN)


@pytest.fixture(scope="module")
def with_audio() -> dict:
    return pattern_template(PATTERN, **{"lex-chatbot.audio_logs": "true"})


def lex_scenarios(template: dict) -> dict[str, tuple]:
    return {
        s.name.split(": ", 1)[1]: s
        for s in derived_scenarios(template)
        if s.source.startswith("derived (AWS::Lex::")
    }


def test_the_alias_invokes_its_hook_only_as_itself_and_logs_as_the_bots_role(text_only):
    scenarios = lex_scenarios(text_only)
    invoke = scenarios["Lex V2 invokes the alias's code hook (and no other alias may)"]
    assert invoke.principal == "service:lexv2.amazonaws.com"
    assert [(c.action, c.expect) for c in invoke.calls] == [
        ("lambda:InvokeFunction", "allow"),
        ("lambda:InvokeFunction", "deny"),
    ]
    assert "TSTALIASID" in invoke.calls[1].context["aws:SourceArn"]
    logs = scenarios["Lex V2 writes the alias's conversation logs as the bot's role"]
    (role,) = [r for r in resources_of_type(text_only, "AWS::IAM::Role") if r.startswith("BotRole")]
    assert logs.principal == role
    assert {c.action for c in logs.calls} == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert scenarios["Lex V2 speaks the bot's answers with Polly"].calls[0].action == (
        "polly:SynthesizeSpeech"
    )
    assert evaluate("stack", text_only).ok


def test_audio_logs_add_the_bucket_write_with_the_key(with_audio):
    scenarios = lex_scenarios(with_audio)
    logs = scenarios["Lex V2 writes the alias's conversation logs as the bot's role"]
    actions = {c.action for c in logs.calls}
    assert {"s3:PutObject", "kms:GenerateDataKey"} <= actions
    (put,) = [c for c in logs.calls if c.action == "s3:PutObject"]
    assert "/audio/" in put.resource
    assert evaluate("stack", with_audio).ok


def test_a_permission_without_the_alias_as_source_lets_the_test_alias_in(text_only):
    broken = copy.deepcopy(text_only)
    (permission,) = resources_of_type(broken, "AWS::Lambda::Permission").values()
    del permission["Properties"]["SourceArn"]
    result = evaluate("stack", broken)
    assert [(f.call.action, f.call.expect) for f in result.failures] == [
        ("lambda:InvokeFunction", "deny")
    ]


def test_a_bot_role_without_the_log_statement_cannot_write_conversation_logs(text_only):
    broken = copy.deepcopy(text_only)
    policies = resources_of_type(broken, "AWS::IAM::ManagedPolicy")
    (bot_policy,) = [p for name, p in policies.items() if name.startswith("BotPolicy")]
    statements = bot_policy["Properties"]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s.get("Sid") != "TextLogs"]
    failures = evaluate("stack", broken).failures
    assert {f.call.action for f in failures} == {"logs:CreateLogStream", "logs:PutLogEvents"}
