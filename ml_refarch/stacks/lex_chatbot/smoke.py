"""Smoke test of a deployed ``MlRefArch-LexChatbot`` stack: a whole pizza order by text.

Talks to the ``live`` alias with ``RecognizeText`` (Lex V2 runtime, "RecognizeText",
https://docs.aws.amazon.com/lexv2/latest/APIReference/API_runtime_RecognizeText.html) in a
new session: asks for a pizza, gives a size the shop does not make (the code hook must
elicit the size again), then a valid size, the crust and two toppings, confirms, and checks
that the intent was fulfilled with a price. The session is deleted at the end.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke lex-chatbot [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.lex_chatbot.outputs import Outputs

#: The turns of the conversation: what the customer says, and what Lex must do next
#: (the dialog action and, for ElicitSlot, which slot).
TURNS: tuple[tuple[str, str, str | None], ...] = (
    ("I would like to order a pizza", "ElicitSlot", "size"),
    ("gigantic", "ElicitSlot", "size"),
    ("large", "ElicitSlot", "crust"),
    ("thin", "ElicitSlot", "toppings"),
    ("ham and mushrooms", "ConfirmIntent", None),
    ("yes", "Close", None),
)


def turn_check(index: int, text: str, answer: dict[str, Any], action: str, slot: str | None):
    state = answer.get("sessionState") or {}
    dialog = state.get("dialogAction") or {}
    found = (dialog.get("type"), dialog.get("slotToElicit") if slot else None)
    words = " ".join(m.get("content", "") for m in answer.get("messages") or [])
    return smoke.Check(
        f"turn {index} {text!r}: {action}" + (f" {slot}" if slot else ""),
        found == (action, slot),
        f"got {found[0]} {found[1] or ''}; bot said {words!r}",
    )


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, talk to its live alias with "
        f"RecognizeText through {len(TURNS)} turns of a pizza order (one bad size), check "
        "each dialog action and the fulfilled order, then delete the session"
    )


def run(run: Run) -> list[smoke.Check]:
    lex, outputs = run.client("lexv2-runtime"), run.outputs
    ids = {
        "botId": outputs[Outputs.BOT_ID],
        "botAliasId": outputs[Outputs.BOT_ALIAS_ID],
        "localeId": outputs[Outputs.LOCALE_ID],
        "sessionId": f"smoke-{uuid.uuid4().hex[:12]}",
    }
    checks: list[smoke.Check] = []
    answer: dict[str, Any] = {}
    try:
        for index, (text, action, slot) in enumerate(TURNS, start=1):
            answer = lex.recognize_text(**ids, text=text)
            run.log(f"turn {index}: {text!r}")
            checks.append(turn_check(index, text, answer, action, slot))
            if not checks[-1].passed:
                return checks
        intent = (answer.get("sessionState") or {}).get("intent") or {}
        words = " ".join(m.get("content", "") for m in answer.get("messages") or [])
        checks.append(
            smoke.Check(
                "the order is fulfilled with a price",
                intent.get("state") == "Fulfilled" and "$" in words,
                f"intent {intent.get('name')} {intent.get('state')}: {words!r}",
            )
        )
        return checks
    finally:
        lex.delete_session(**ids)
        run.log(f"deleted session {ids['sessionId']}")


SMOKE = SmokeTest(
    required_outputs=(Outputs.BOT_ID, Outputs.BOT_ALIAS_ID, Outputs.LOCALE_ID),
    clients=("lexv2-runtime",),
)
