"""The Lex V2 code hook of lex-chatbot (lambdas/pizza_order/handler.py) on Lex V2 events.

The events follow "AWS Lambda input event format for Lex V2"
(https://docs.aws.amazon.com/lexv2/latest/dg/lambda-input-format.html), the slot shapes
"Slot" (Scalar, List with ``values``) and the multi-valued example of "Using multiple values
in a slot" (https://docs.aws.amazon.com/lexv2/latest/dg/multi-valued-slots.html); the answers
are checked against "Response format for Lex V2"
(https://docs.aws.amazon.com/lexv2/latest/dg/lambda-response-format.html).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ml_refarch.stacks.lex_chatbot.menu import menu_json
from tests.load import load_by_path

HANDLER_PATH = Path(__file__).resolve().parents[2] / "lambdas" / "pizza_order" / "handler.py"
DIALOG_ACTIONS = {"Close", "ConfirmIntent", "Delegate", "ElicitIntent", "ElicitSlot"}
INTENT_STATES = {"Failed", "Fulfilled", "InProgress", "ReadyForFulfillment", "Waiting"}


@pytest.fixture()
def handler(monkeypatch):
    monkeypatch.setenv("MENU", menu_json(max_toppings=3))
    return load_by_path("pizza_order_handler", HANDLER_PATH).handler


def value(text: str) -> dict[str, Any]:
    return {
        "shape": "Scalar",
        "value": {"originalValue": text, "interpretedValue": text, "resolvedValues": [text]},
    }


def toppings(*names: str) -> dict[str, Any]:
    joined = " and ".join(names)
    return {
        "shape": "List",
        "value": {"originalValue": joined, "interpretedValue": joined, "resolvedValues": [joined]},
        "values": [value(name) for name in names],
    }


def event(
    slots: dict[str, Any],
    *,
    source: str = "DialogCodeHook",
    confirmation: str = "None",
    intent: str = "OrderPizza",
) -> dict[str, Any]:
    """A Lex V2 event as the input format page shows it (text mode, alias TSTALIASID)."""
    full = {"size": None, "crust": None, "toppings": None, **slots}
    intent_object = {
        "name": intent,
        "slots": full,
        "state": "ReadyForFulfillment" if source == "FulfillmentCodeHook" else "InProgress",
        "confirmationState": confirmation,
    }
    return {
        "messageVersion": "1.0",
        "invocationSource": source,
        "inputMode": "Text",
        "responseContentType": "text/plain; charset=utf-8",
        "sessionId": "123456789012345",
        "inputTranscript": "a large thin pizza with ham",
        "invocationLabel": "",
        "bot": {
            "id": "ABCDEFGHIJ",
            "name": "PizzaOrders",
            "localeId": "en_US",
            "version": "1",
            "aliasId": "KLMNOPQRST",
            "aliasName": "live",
        },
        "interpretations": [
            {"interpretationSource": "Lex", "intent": intent_object, "nluConfidence": 0.93}
        ],
        "proposedNextState": {
            "dialogAction": {"type": "ElicitSlot", "slotToElicit": "crust"},
            "intent": intent_object,
            "prompt": {"attempt": "Initial"},
        },
        "requestAttributes": {},
        "sessionState": {
            "activeContexts": [],
            "sessionAttributes": {"table": "7"},
            "intent": intent_object,
            "originatingRequestId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        },
        "transcriptions": [],
        "aNewFieldLexMayAdd": {"ignored": True},
    }


def assert_valid_response(answer: dict[str, Any]) -> None:
    state = answer["sessionState"]
    assert state["dialogAction"]["type"] in DIALOG_ACTIONS
    # The response format page: messages are required for ElicitIntent and ConfirmIntent.
    if state["dialogAction"]["type"] in ("ElicitIntent", "ConfirmIntent"):
        assert answer.get("messages")
    if state["dialogAction"]["type"] == "ElicitSlot":
        assert state["dialogAction"]["slotToElicit"] in state["intent"]["slots"]
    if "state" in state["intent"]:
        assert state["intent"]["state"] in INTENT_STATES
    for message in answer.get("messages", []):
        assert message["contentType"] == "PlainText" and message["content"]


ALL_GOOD = {"size": value("large"), "crust": value("thin"), "toppings": toppings("ham", "olives")}


def test_a_complete_valid_order_is_delegated_so_lex_asks_for_confirmation(handler):
    answer = handler(event(ALL_GOOD))
    assert_valid_response(answer)
    assert answer["sessionState"]["dialogAction"] == {"type": "Delegate"}
    assert "messages" not in answer
    assert answer["sessionState"]["sessionAttributes"] == {"table": "7"}


def test_fulfillment_closes_the_intent_with_the_summary_and_price(handler):
    answer = handler(event(ALL_GOOD, source="FulfillmentCodeHook", confirmation="Confirmed"))
    assert_valid_response(answer)
    assert answer["sessionState"]["dialogAction"] == {"type": "Close"}
    assert answer["sessionState"]["intent"]["state"] == "Fulfilled"
    # large 15.00 + thin 0.00 + ham 1.50 + olives 1.00
    content = answer["messages"][0]["content"]
    assert "$17.50" in content and "ham and olives" in content and "large thin" in content


@pytest.mark.parametrize(
    ("slots", "slot", "words"),
    [
        ({}, "size", "Which size"),
        ({"size": value("large")}, "crust", "Which crust"),
        ({"size": value("large"), "crust": value("thin")}, "toppings", "Which toppings"),
        ({**ALL_GOOD, "size": value("gigantic")}, "size", "gigantic is not a size"),
        ({**ALL_GOOD, "crust": value("cardboard")}, "crust", "cardboard is not a crust"),
        ({**ALL_GOOD, "toppings": toppings("ham", "anchovies")}, "toppings", "no anchovies"),
        (
            {**ALL_GOOD, "toppings": toppings("ham", "olives", "onions", "peppers")},
            "toppings",
            "At most 3 toppings",
        ),
        ({**ALL_GOOD, "toppings": toppings("ham", "ham")}, "toppings", "each topping once"),
        ({**ALL_GOOD, "size": {"shape": "Scalar", "value": {}}}, "size", "Which size"),
    ],
)
@pytest.mark.parametrize("source", ["DialogCodeHook", "FulfillmentCodeHook"])
def test_a_bad_or_missing_slot_is_elicited_again_with_a_message(
    handler, slots, slot, words, source
):
    answer = handler(event(slots, source=source))
    assert_valid_response(answer)
    state = answer["sessionState"]
    assert state["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": slot}
    assert state["intent"]["state"] == "InProgress"
    assert state["intent"]["slots"][slot] is None  # the bad value is cleared
    assert words in answer["messages"][0]["content"]


def test_the_allowed_values_are_named_when_a_value_is_wrong(handler):
    answer = handler(event({**ALL_GOOD, "crust": value("cardboard")}))
    assert "stuffed, thick, thin" in answer["messages"][0]["content"]


def test_a_scalar_toppings_slot_counts_as_one_topping(handler):
    answer = handler(event({**ALL_GOOD, "toppings": value("pineapple")}))
    assert answer["sessionState"]["dialogAction"] == {"type": "Delegate"}


def test_a_denied_confirmation_closes_the_intent_as_failed(handler):
    answer = handler(event(ALL_GOOD, confirmation="Denied"))
    assert_valid_response(answer)
    assert answer["sessionState"]["dialogAction"] == {"type": "Close"}
    assert answer["sessionState"]["intent"]["state"] == "Failed"
    assert "cancelled" in answer["messages"][0]["content"]


def test_another_intent_is_closed_as_failed(handler):
    answer = handler(event(ALL_GOOD, intent="FallbackIntent"))
    assert answer["sessionState"]["intent"]["state"] == "Failed"
    assert answer["sessionState"]["dialogAction"] == {"type": "Close"}
