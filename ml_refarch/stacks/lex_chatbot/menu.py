"""Pattern ``lex-chatbot``: the pizza menu, one table for the bot's slot types and its Lambda.

The bot's custom slot types are built from :data:`SLOT_TYPES` (each value with its synonyms;
Lex resolves a synonym to its value: "Custom slot type",
https://docs.aws.amazon.com/lexv2/latest/dg/custom-slot-types.html), and the code hook gets
the same values with their prices in its ``MENU`` environment variable (:func:`menu_json`),
so the bot and the function cannot disagree on what the shop sells.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class MenuItem:
    """One slot value: its name, the words that mean it, its price in US cents."""

    value: str
    synonyms: tuple[str, ...]
    price_cents: int


@dataclass(frozen=True)
class SlotTypeSpec:
    """A custom slot type: its name, the slot that uses it, the prompt and the values."""

    type_name: str
    slot_name: str
    description: str
    prompt: str
    items: tuple[MenuItem, ...]
    multiple_values: bool = False


SIZE = SlotTypeSpec(
    "PizzaSize",
    "size",
    "Pizza sizes",
    "What size would you like: small, medium or large?",
    (
        MenuItem("small", ("personal", "ten inch"), 900),
        MenuItem("medium", ("regular", "twelve inch"), 1200),
        MenuItem("large", ("family", "big", "fourteen inch"), 1500),
    ),
)
CRUST = SlotTypeSpec(
    "PizzaCrust",
    "crust",
    "Pizza crusts",
    "Which crust: thin, thick or stuffed?",
    (
        MenuItem("thin", ("thin crust", "crispy", "italian"), 0),
        MenuItem("thick", ("deep dish", "pan", "thick crust"), 150),
        MenuItem("stuffed", ("cheese stuffed", "stuffed crust"), 250),
    ),
)
TOPPINGS = SlotTypeSpec(
    "PizzaTopping",
    "toppings",
    "Pizza toppings",
    "Which toppings would you like?",
    (
        MenuItem("pepperoni", ("salami",), 150),
        MenuItem("mushrooms", ("mushroom", "champignons"), 100),
        MenuItem("onions", ("onion",), 75),
        MenuItem("peppers", ("pepper", "bell peppers", "capsicum"), 100),
        MenuItem("olives", ("olive", "black olives"), 100),
        MenuItem("pineapple", ("ananas",), 125),
        MenuItem("ham", ("bacon",), 150),
        MenuItem("extra cheese", ("more cheese", "double cheese"), 125),
    ),
    multiple_values=True,
)

#: In the order the bot asks for them.
SLOT_TYPES = (SIZE, CRUST, TOPPINGS)


def menu_json(max_toppings: int) -> str:
    """The code hook's ``MENU``: values and prices per slot, and the topping limit."""
    menu: dict[str, object] = {
        spec.slot_name: {item.value: item.price_cents for item in spec.items} for spec in SLOT_TYPES
    }
    menu["maxToppings"] = max_toppings
    return json.dumps(menu, sort_keys=True, separators=(",", ":"))
