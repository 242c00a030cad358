"""lex-chatbot: the bot's locale, slot types and intent, version, alias, code hook and logs."""

from __future__ import annotations

import json

import pytest

from ml_refarch.stacks.lex_chatbot import PATTERN
from ml_refarch.stacks.lex_chatbot.menu import SLOT_TYPES, TOPPINGS
from tests.support import only_resource, pattern_template, resources_of_type

STACK = PATTERN.stack_name


@pytest.fixture(scope="module", params=["sandbox", "production"])
def template(request, synthesized) -> dict:
    return synthesized(request.param).templates[STACK]


@pytest.fixture(scope="module")
def audio(synthesized) -> dict:
    return synthesized("sandbox-audio-logs").templates[STACK]


def logical_id(template: dict, resource_type: str) -> str:
    (found,) = resources_of_type(template, resource_type)
    return found


def locale(template: dict) -> dict:
    (found,) = only_resource(template, "AWS::Lex::Bot")["Properties"]["BotLocales"]
    return found


def intent(template: dict, name: str = "OrderPizza") -> dict:
    return next(i for i in locale(template)["Intents"] if i["Name"] == name)


def test_the_bot_is_en_us_with_settings_from_config_and_a_role_of_its_own(template):
    bot = only_resource(template, "AWS::Lex::Bot")["Properties"]
    assert bot["DataPrivacy"] == {"ChildDirected": False}
    assert bot["IdleSessionTTLInSeconds"] == 300
    assert bot["AutoBuildBotLocales"] is True
    assert locale(template)["LocaleId"] == "en_US"
    role = bot["RoleArn"]["Fn::GetAtt"][0]
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"] == {"Service": "lexv2.amazonaws.com"}
    assert trust[0]["Action"] == "sts:AssumeRole"


def test_each_slot_type_holds_the_menu_values_and_synonyms_restricted_to_them(template):
    types = {t["Name"]: t for t in locale(template)["SlotTypes"]}
    assert set(types) == {spec.type_name for spec in SLOT_TYPES}
    for spec in SLOT_TYPES:
        slot_type = types[spec.type_name]
        assert slot_type["ValueSelectionSetting"] == {"ResolutionStrategy": "TOP_RESOLUTION"}
        values = {
            v["SampleValue"]["Value"]: [s["Value"] for s in v.get("Synonyms", [])]
            for v in slot_type["SlotTypeValues"]
        }
        assert values == {item.value: list(item.synonyms) for item in spec.items}
        assert all(values.values()), "every value has synonyms"


def test_order_pizza_has_utterances_required_slots_in_order_and_a_confirmation(template):
    order = intent(template)
    utterances = [u["Utterance"] for u in order["SampleUtterances"]]
    assert len(utterances) >= 5
    for slot_name in ("size", "crust", "toppings"):
        assert any("{" + slot_name + "}" in u for u in utterances)
    slots = {s["Name"]: s for s in order["Slots"]}
    assert set(slots) == {"size", "crust", "toppings"}
    for slot in slots.values():
        setting = slot["ValueElicitationSetting"]
        assert setting["SlotConstraint"] == "Required"
        assert setting["PromptSpecification"]["MessageGroupsList"]
    assert slots["toppings"]["MultipleValuesSetting"] == {"AllowMultipleValues": True}
    assert slots["toppings"]["SlotTypeName"] == TOPPINGS.type_name
    assert "MultipleValuesSetting" not in slots["size"]
    assert [
        p["SlotName"] for p in sorted(order["SlotPriorities"], key=lambda p: p["Priority"])
    ] == [
        "size",
        "crust",
        "toppings",
    ]
    confirmation = order["IntentConfirmationSetting"]
    assert "{toppings}" in json.dumps(confirmation["PromptSpecification"])
    assert confirmation["DeclinationResponse"]["MessageGroupsList"]
    assert order["DialogCodeHook"] == {"Enabled": True}
    assert order["FulfillmentCodeHook"] == {"Enabled": True}
    assert intent(template, "FallbackIntent")["ParentIntentSignature"] == "AMAZON.FallbackIntent"


def test_the_alias_serves_the_version_with_the_code_hook_and_text_logs(template):
    bot = logical_id(template, "AWS::Lex::Bot")
    version_id = logical_id(template, "AWS::Lex::BotVersion")
    version = template["Resources"][version_id]["Properties"]
    assert version["BotId"] == {"Fn::GetAtt": [bot, "Id"]}
    (spec,) = version["BotVersionLocaleSpecification"]
    assert spec == {"LocaleId": "en_US", "BotVersionLocaleDetails": {"SourceBotVersion": "DRAFT"}}
    alias = only_resource(template, "AWS::Lex::BotAlias")["Properties"]
    assert alias["BotVersion"] == {"Fn::GetAtt": [version_id, "BotVersion"]}
    (setting,) = alias["BotAliasLocaleSettings"]
    hook = setting["BotAliasLocaleSetting"]["CodeHookSpecification"]["LambdaCodeHook"]
    functions = resources_of_type(template, "AWS::Lambda::Function")
    (code_hook,) = [f for f, r in functions.items() if "MENU" in json.dumps(r)]
    assert hook == {
        "CodeHookInterfaceVersion": "1.0",
        "LambdaArn": {"Fn::GetAtt": [code_hook, "Arn"]},
    }
    text = alias["ConversationLogSettings"]["TextLogSettings"][0]
    group = text["Destination"]["CloudWatch"]["CloudWatchLogGroupArn"]["Fn::GetAtt"][0]
    key = logical_id(template, "AWS::KMS::Key")
    assert template["Resources"][group]["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert "AudioLogSettings" not in alias["ConversationLogSettings"]


def test_only_lex_through_the_alias_may_invoke_the_code_hook(template):
    permission = only_resource(template, "AWS::Lambda::Permission")["Properties"]
    alias = logical_id(template, "AWS::Lex::BotAlias")
    assert permission["Principal"] == "lexv2.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["SourceArn"] == {"Fn::GetAtt": [alias, "Arn"]}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_the_code_hook_gets_the_menu_the_slot_types_are_built_from(sandbox_hook):
    menu = json.loads(sandbox_hook["Properties"]["Environment"]["Variables"]["MENU"])
    assert {spec.slot_name: set(menu[spec.slot_name]) for spec in SLOT_TYPES} == {
        spec.slot_name: {item.value for item in spec.items} for spec in SLOT_TYPES
    }
    assert menu["maxToppings"] == 5


@pytest.fixture(scope="module")
def sandbox_hook(synthesized) -> dict:
    functions = resources_of_type(synthesized("sandbox").templates[STACK], "AWS::Lambda::Function")
    (hook,) = [f for f in functions.values() if "MENU" in json.dumps(f)]
    return hook


def test_audio_logs_go_to_the_kms_bucket_only_when_enabled(audio):
    alias = only_resource(audio, "AWS::Lex::BotAlias")["Properties"]
    (setting,) = alias["ConversationLogSettings"]["AudioLogSettings"]
    destination = setting["Destination"]["S3Bucket"]
    bucket = logical_id(audio, "AWS::S3::Bucket")
    key = logical_id(audio, "AWS::KMS::Key")
    assert destination["S3BucketArn"] == {"Fn::GetAtt": [bucket, "Arn"]}
    assert destination["KmsKeyArn"] == {"Fn::GetAtt": [key, "Arn"]}
    encryption = audio["Resources"][bucket]["Properties"]["BucketEncryption"]
    rule = encryption["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] == "aws:kms"


def test_settings_reach_the_bot_and_a_changed_bot_gets_a_new_version():
    default = pattern_template(PATTERN)
    changed = pattern_template(
        PATTERN,
        **{
            "lex-chatbot.child_directed": "true",
            "lex-chatbot.idle_session_ttl_seconds": "900",
            "lex-chatbot.nlu_confidence_threshold": "0.7",
        },
    )
    bot = only_resource(changed, "AWS::Lex::Bot")["Properties"]
    assert bot["DataPrivacy"] == {"ChildDirected": True}
    assert bot["IdleSessionTTLInSeconds"] == 900
    assert locale(changed)["NluConfidenceThreshold"] == pytest.approx(0.7, rel=1e-9)
    # The locale changed, so the version is a new resource and the alias follows it.
    assert logical_id(changed, "AWS::Lex::BotVersion") != logical_id(
        default, "AWS::Lex::BotVersion"
    )
