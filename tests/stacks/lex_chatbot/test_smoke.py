"""ml_refarch/stacks/lex_chatbot/smoke.py against a fake Lex V2 runtime that runs the code hook.

The fake resolves each utterance to slot values from the menu (values and synonyms, as the
bot's slot types do), calls the real handler (lambdas/pizza_order) as a dialog or
fulfillment code hook with a Lex V2 event, and acts on its answer the way Lex does: an
ElicitSlot is returned, a Delegate moves to the next empty slot or the confirmation
prompt, and "yes" to the confirmation runs the fulfillment hook. Requests are checked
against botocore's model of RecognizeText and DeleteSession.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ml_refarch.stacks.lex_chatbot import PATTERN
from ml_refarch.stacks.lex_chatbot.menu import SLOT_TYPES, menu_json
from ml_refarch.stacks.lex_chatbot.outputs import Outputs
from ml_refarch.stacks.lex_chatbot.smoke import TURNS
from tests import smoke_fakes as fakes
from tests.load import load_by_path
from tests.smoke_fakes import Session, runner_for

main = runner_for(PATTERN)
HANDLER = Path(__file__).resolve().parents[3] / "lambdas" / "pizza_order" / "handler.py"
OUTPUTS = {
    Outputs.BOT_ID: "ABCDEFGHIJ",
    Outputs.BOT_ALIAS_ID: "KLMNOPQRST",
    Outputs.LOCALE_ID: "en_US",
}


def scalar(text: str) -> dict[str, Any]:
    return {"shape": "Scalar", "value": {"originalValue": text, "interpretedValue": text}}


class FakeLex:
    """A small Lex V2 runtime: one session, the OrderPizza intent, the real code hook."""

    def __init__(self, hook, *, break_hook: bool = False):
        self.hook, self.break_hook = hook, break_hook
        self.model = fakes.client("lexv2-runtime").meta.service_model
        self.slots: dict[str, Any] = {spec.slot_name: None for spec in SLOT_TYPES}
        self.pending: str | None = None
        self.calls: list[tuple[str, dict]] = []

    def _check(self, operation: str, kwargs: dict) -> None:
        shape = self.model.operation_model(operation).input_shape
        assert set(kwargs) <= set(shape.members), set(kwargs) - set(shape.members)
        assert set(shape.required_members) <= set(kwargs)

    def _fill(self, text: str) -> None:
        words = f" {text.lower()} "
        for spec in SLOT_TYPES:
            if spec.slot_name != self.pending and self.pending is not None:
                continue
            found = [
                item.value
                for item in spec.items
                if any(f" {w} " in words for w in (item.value, *item.synonyms))
            ]
            if spec.multiple_values and found:
                self.slots["toppings"] = {"shape": "List", "values": [scalar(v) for v in found]}
            elif found:
                self.slots[spec.slot_name] = scalar(found[0])
            elif self.pending == spec.slot_name:
                # Expand-free types leave an unknown answer out; the smoke test's bad size
                # reaches the hook as the customer said it.
                self.slots[spec.slot_name] = scalar(text)

    def _event(self, source: str, confirmation: str) -> dict[str, Any]:
        intent = {
            "name": "OrderPizza",
            "slots": dict(self.slots),
            "state": "InProgress",
            "confirmationState": confirmation,
        }
        return {"messageVersion": "1.0", "invocationSource": source, "inputMode": "Text",
                "sessionId": "s", "inputTranscript": "", "bot": {"localeId": "en_US"},
                "sessionState": {"intent": intent, "sessionAttributes": {}}}  # fmt: skip

    def recognize_text(self, **kwargs: Any) -> dict[str, Any]:
        self._check("RecognizeText", kwargs)
        self.calls.append(("recognize_text", kwargs))
        text = kwargs["text"]
        if self.pending == "confirmation":
            source = "FulfillmentCodeHook" if text == "yes" else "DialogCodeHook"
            confirmation = "Confirmed" if text == "yes" else "Denied"
            answer = self.hook(self._event(source, confirmation))
        else:
            self._fill(text)
            answer = self.hook(self._event("DialogCodeHook", "None"))
        action = answer["sessionState"]["dialogAction"]
        if self.break_hook and action.get("slotToElicit") == "size" and self.slots["size"]:
            answer["sessionState"]["dialogAction"] = {"type": "Delegate"}
            action = answer["sessionState"]["dialogAction"]
        if action["type"] == "ElicitSlot":
            self.slots = dict(answer["sessionState"]["intent"]["slots"])
            self.pending = action["slotToElicit"]
        elif action["type"] == "Delegate":
            empty = [s.slot_name for s in SLOT_TYPES if not self.slots[s.slot_name]]
            self.pending = empty[0] if empty else "confirmation"
            answer["sessionState"]["dialogAction"] = (
                {"type": "ElicitSlot", "slotToElicit": empty[0]}
                if empty
                else {"type": "ConfirmIntent"}
            )
        return answer

    def delete_session(self, **kwargs: Any) -> dict[str, Any]:
        self._check("DeleteSession", kwargs)
        self.calls.append(("delete_session", kwargs))
        return {}


@pytest.fixture()
def hook(monkeypatch):
    monkeypatch.setenv("MENU", menu_json(max_toppings=5))
    return load_by_path("pizza_order_smoke_handler", HANDLER).handler


def session(lex: FakeLex) -> Session:
    return Session(cloudformation=fakes.stack(OUTPUTS), **{"lexv2-runtime": lex})


def test_a_whole_order_passes_through_every_turn_and_deletes_the_session(hook, capsys):
    lex = FakeLex(hook)
    assert main([], session=session(lex)) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "FAIL" not in out
    texts = [kwargs["text"] for name, kwargs in lex.calls if name == "recognize_text"]
    assert texts == [text for text, _, _ in TURNS]
    (deleted,) = [kwargs for name, kwargs in lex.calls if name == "delete_session"]
    assert deleted["botAliasId"] == "KLMNOPQRST" and deleted["sessionId"].startswith("smoke-")


def test_a_hook_that_accepts_a_bad_size_fails_at_that_turn_and_still_deletes(hook, capsys):
    lex = FakeLex(hook, break_hook=True)
    assert main([], session=session(lex)) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and "'gigantic'" in line for line in out.splitlines())
    assert lex.calls[-1][0] == "delete_session"


def test_an_order_that_is_not_fulfilled_fails(hook, capsys):
    def unfulfilled(event):
        answer = hook(event)
        if event["invocationSource"] == "FulfillmentCodeHook":
            answer["sessionState"]["intent"]["state"] = "Failed"
        return answer

    assert main([], session=session(FakeLex(unfulfilled))) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and "fulfilled" in line for line in out.splitlines())


def test_a_dry_run_touches_no_aws(capsys):
    assert main(["--dry-run"], session=None) == 0
    assert "RecognizeText" in capsys.readouterr().out
