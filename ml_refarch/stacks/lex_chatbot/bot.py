"""Pattern ``lex-chatbot``: the bot's en_US locale as CloudFormation data (AWS::Lex::Bot).

Plain data, so the stack can digest it: a bot version is a numbered snapshot of the draft
("Creating versions", https://docs.aws.amazon.com/lexv2/latest/dg/versions-aliases.html),
and the stack names its AWS::Lex::BotVersion after this locale's digest, so a changed bot
gets a new version and the alias moves to it.

The locale holds:

- one custom slot type per menu table (:mod:`.menu`), its values with their synonyms,
  restricted to them (``TOP_RESOLUTION``: Lex resolves an answer only to a value or a
  synonym, "Custom slot type",
  https://docs.aws.amazon.com/lexv2/latest/dg/custom-slot-types.html);
- ``OrderPizza`` with sample utterances, its three required slots in order (toppings
  multi-valued: "Using multiple values in a slot",
  https://docs.aws.amazon.com/lexv2/latest/dg/multi-valued-slots.html, English (US) and
  custom slot types only), a confirmation prompt with its declination answer, and the
  dialog and fulfillment code hooks on (the alias names the Lambda function);
- the fallback intent every locale has (``AMAZON.FallbackIntent``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ml_refarch.stacks.lex_chatbot.menu import SLOT_TYPES, SlotTypeSpec

LOCALE_ID = "en_US"
INTENT_NAME = "OrderPizza"
#: A Polly voice of en_US ("Voices in Amazon Polly",
#: https://docs.aws.amazon.com/polly/latest/dg/available-voices.html); neural engine.
VOICE_ID = "Danielle"

SAMPLE_UTTERANCES = (
    "I want to order a pizza",
    "I would like a pizza",
    "Order a pizza",
    "Can I get a pizza",
    "I want a {size} pizza",
    "A {size} {crust} crust pizza please",
    "I want a pizza with {toppings}",
    "Order a {size} pizza with {toppings}",
    "I would like a {size} {crust} crust pizza with {toppings}",
)
CONFIRMATION = "A {size} {crust} crust pizza with {toppings}. Shall I place the order?"
DECLINATION = "Okay, I will not place the order."


def message_groups(text: str) -> list[dict[str, Any]]:
    return [{"Message": {"PlainTextMessage": {"Value": text}}}]


def prompt(text: str) -> dict[str, Any]:
    return {"MessageGroupsList": message_groups(text), "MaxRetries": 2, "AllowInterrupt": True}


def slot_type(spec: SlotTypeSpec) -> dict[str, Any]:
    return {
        "Name": spec.type_name,
        "Description": spec.description,
        "SlotTypeValues": [
            {
                "SampleValue": {"Value": item.value},
                "Synonyms": [{"Value": synonym} for synonym in item.synonyms],
            }
            for item in spec.items
        ],
        "ValueSelectionSetting": {"ResolutionStrategy": "TOP_RESOLUTION"},
    }


def slot(spec: SlotTypeSpec) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Name": spec.slot_name,
        "SlotTypeName": spec.type_name,
        "ValueElicitationSetting": {
            "SlotConstraint": "Required",
            "PromptSpecification": prompt(spec.prompt),
        },
    }
    if spec.multiple_values:
        found["MultipleValuesSetting"] = {"AllowMultipleValues": True}
    return found


def order_intent() -> dict[str, Any]:
    return {
        "Name": INTENT_NAME,
        "Description": "Order a pizza: size, crust and toppings",
        "SampleUtterances": [{"Utterance": text} for text in SAMPLE_UTTERANCES],
        "Slots": [slot(spec) for spec in SLOT_TYPES],
        "SlotPriorities": [
            {"Priority": index, "SlotName": spec.slot_name}
            for index, spec in enumerate(SLOT_TYPES, start=1)
        ],
        "IntentConfirmationSetting": {
            "PromptSpecification": prompt(CONFIRMATION),
            "DeclinationResponse": {
                "MessageGroupsList": message_groups(DECLINATION),
                "AllowInterrupt": False,
            },
        },
        "DialogCodeHook": {"Enabled": True},
        "FulfillmentCodeHook": {"Enabled": True},
    }


def fallback_intent() -> dict[str, Any]:
    return {
        "Name": "FallbackIntent",
        "Description": "Answers what the bot did not understand",
        "ParentIntentSignature": "AMAZON.FallbackIntent",
    }


def locale(nlu_confidence_threshold: float) -> dict[str, Any]:
    """The ``BotLocales`` entry of the bot."""
    return {
        "LocaleId": LOCALE_ID,
        "Description": "Pizza orders in US English",
        "NluConfidenceThreshold": nlu_confidence_threshold,
        "VoiceSettings": {"VoiceId": VOICE_ID, "Engine": "neural"},
        "SlotTypes": [slot_type(spec) for spec in SLOT_TYPES],
        "Intents": [order_intent(), fallback_intent()],
    }


def digest(data: Any) -> str:
    """The first 8 hex digits of the SHA-256 of ``data`` as canonical JSON."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]
