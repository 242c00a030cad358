"""Dialog and fulfillment code hook of a Lex V2 pizza-ordering bot.

Lex V2 calls this function with the event described in "AWS Lambda input event format for
Lex V2" (https://docs.aws.amazon.com/lexv2/latest/dg/lambda-input-format.html) and reads the
answer described in "Response format for Lex V2"
(https://docs.aws.amazon.com/lexv2/latest/dg/lambda-response-format.html):

- ``DialogCodeHook`` (every turn of ``OrderPizza``): a slot that holds a value the menu does
  not have, too many toppings, or a missing slot is elicited again (``ElicitSlot``) with a
  message that says what is allowed; once every slot is valid, ``Delegate`` lets Lex ask its
  confirmation prompt. A denied confirmation closes the intent as ``Failed``.
- ``FulfillmentCodeHook``: the same checks (the function is the last word on the order),
  then ``Close`` with the intent ``Fulfilled`` and the order's summary and price.

Toppings is a multi-valued slot ("Using multiple values in a slot",
https://docs.aws.amazon.com/lexv2/latest/dg/multi-valued-slots.html): its ``values`` list
holds one scalar slot per topping. New fields in the event are ignored (the input format
may change without a new ``messageVersion``).

The menu (values and prices) comes from the ``MENU`` environment variable, written by the
stack from the same table that defines the bot's slot types. Standard library only.
"""

from __future__ import annotations

import json
import os
from typing import Any

SLOT_ORDER = ("size", "crust", "toppings")


def load_menu() -> dict[str, Any]:
    """The menu: price in cents by value for each slot, and ``maxToppings``."""
    return json.loads(os.environ["MENU"])


def scalar_value(slot: dict[str, Any] | None) -> str | None:
    """The interpreted value of a scalar slot, lower case, or None when empty."""
    if not slot or not isinstance(slot.get("value"), dict):
        return None
    value = slot["value"].get("interpretedValue")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def list_values(slot: dict[str, Any] | None) -> list[str]:
    """The values of a multi-valued slot (or of a scalar one, as a list of one)."""
    if not slot:
        return []
    values = [scalar_value(item) for item in slot.get("values") or []]
    found = [value for value in values if value]
    if found:
        return found
    single = scalar_value(slot)
    return [single] if single else []


def problem(slot_name: str, slots: dict[str, Any], menu: dict[str, Any]) -> str | None:
    """What is wrong with one slot (a sentence for the customer), or None when it is fine."""
    choices = ", ".join(sorted(menu[slot_name]))
    if slot_name == "toppings":
        toppings = list_values(slots.get("toppings"))
        if not toppings:
            return f"Which toppings would you like? We have {choices}."
        unknown = [t for t in toppings if t not in menu["toppings"]]
        if unknown:
            return f"Sorry, we have no {', '.join(unknown)}. Choose from {choices}."
        if len(toppings) > menu["maxToppings"]:
            return f"At most {menu['maxToppings']} toppings, please. Which would you like?"
        if len(set(toppings)) != len(toppings):
            return "Name each topping once, please. Which toppings would you like?"
        return None
    value = scalar_value(slots.get(slot_name))
    if value is None:
        return f"Which {slot_name} would you like? We have {choices}."
    if value not in menu[slot_name]:
        return f"Sorry, {value} is not a {slot_name} we make. Choose {choices}."
    return None


def first_problem(slots: dict[str, Any], menu: dict[str, Any]) -> tuple[str, str] | None:
    for slot_name in SLOT_ORDER:
        message = problem(slot_name, slots, menu)
        if message:
            return slot_name, message
    return None


def price_cents(slots: dict[str, Any], menu: dict[str, Any]) -> int:
    size = menu["size"][scalar_value(slots["size"])]
    crust = menu["crust"][scalar_value(slots["crust"])]
    return size + crust + sum(menu["toppings"][t] for t in list_values(slots["toppings"]))


def summary(slots: dict[str, Any], menu: dict[str, Any]) -> str:
    toppings = " and ".join(list_values(slots["toppings"]))
    cents = price_cents(slots, menu)
    return (
        f"Your {scalar_value(slots['size'])} {scalar_value(slots['crust'])} crust pizza with "
        f"{toppings} is on its way: ${cents // 100}.{cents % 100:02d}."
    )


def respond(
    event: dict[str, Any], intent: dict[str, Any], action: dict[str, Any], message: str | None
) -> dict[str, Any]:
    session = event.get("sessionState") or {}
    answer: dict[str, Any] = {
        "sessionState": {
            "sessionAttributes": session.get("sessionAttributes") or {},
            "dialogAction": action,
            "intent": intent,
        }
    }
    if message:
        answer["messages"] = [{"contentType": "PlainText", "content": message}]
    return answer


def elicit(event: dict[str, Any], intent: dict[str, Any], slot_name: str, message: str):
    slots = dict(intent.get("slots") or {})
    slots[slot_name] = None  # clear the bad value so Lex takes the next answer
    intent = {**intent, "slots": slots, "state": "InProgress"}
    return respond(event, intent, {"type": "ElicitSlot", "slotToElicit": slot_name}, message)


def close(event: dict[str, Any], intent: dict[str, Any], state: str, message: str):
    return respond(event, {**intent, "state": state}, {"type": "Close"}, message)


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    menu = load_menu()
    intent = dict((event.get("sessionState") or {}).get("intent") or {})
    if intent.get("name") != "OrderPizza":
        return close(event, intent, "Failed", "I can only take pizza orders.")
    slots = intent.get("slots") or {}
    if intent.get("confirmationState") == "Denied":
        return close(event, intent, "Failed", "No problem, I have cancelled the order.")
    found = first_problem(slots, menu)
    if found:
        return elicit(event, intent, *found)
    if event.get("invocationSource") == "FulfillmentCodeHook":
        return close(event, intent, "Fulfilled", summary(slots, menu))
    # Every slot is valid: Lex goes on with its own dialog (the confirmation prompt).
    return respond(event, intent, {"type": "Delegate"}, None)
