"""Settings of the ``lex-chatbot`` pattern: session time-out, data privacy, logs, the menu.

- ``idle_session_ttl_seconds``: how long Lex V2 keeps a conversation without input, 60 to
  86,400 seconds ("CreateBot", idleSessionTTLInSeconds,
  https://docs.aws.amazon.com/lexv2/latest/APIReference/API_CreateBot.html).
- ``child_directed``: whether the bot is directed at children under 13 and subject to
  COPPA (``DataPrivacy.ChildDirected``, same page); every bot must say.
- ``audio_logs``: conversation audio to the stack's KMS bucket (text logs always go to an
  encrypted log group; "Logging conversations with conversation logs",
  https://docs.aws.amazon.com/lexv2/latest/dg/conversation-logs.html). A text bot has no
  audio to log, so it is off by default.
- ``nlu_confidence_threshold``: below this score Lex falls back to the fallback intent,
  0 to 1 ("CreateBotLocale", nluIntentConfidenceThreshold,
  https://docs.aws.amazon.com/lexv2/latest/APIReference/API_CreateBotLocale.html).
- ``max_toppings``: what the code hook accepts on one pizza, at most the toppings on the
  menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.settings import Field, SettingsSpec, boolean, integer, no_check, number
from ml_refarch.stacks.lex_chatbot.menu import TOPPINGS

#: Lex V2's idle session TTL range ("CreateBot").
IDLE_SESSION_TTL_SECONDS = (60, 86400)


@dataclass(frozen=True)
class LexChatbotSettings:
    """Settings of the ``lex-chatbot`` pattern (see the module docstring)."""

    idle_session_ttl_seconds: int
    child_directed: bool
    audio_logs: bool
    nlu_confidence_threshold: float
    max_toppings: int


FIELDS = {
    "idle_session_ttl_seconds": Field(
        integer(*IDLE_SESSION_TTL_SECONDS, "Lex V2 keeps an idle session 1 minute to 24 hours"),
        300,
        "600",
        "Seconds Lex keeps a conversation without input before it forgets the order",
    ),
    "child_directed": Field(
        boolean,
        False,
        "true",
        "The bot is directed at children under 13 (COPPA): DataPrivacy.ChildDirected",
    ),
    "audio_logs": Field(
        boolean,
        False,
        "true",
        "Also log conversation audio to the stack's KMS bucket (text logs are always on)",
    ),
    "nlu_confidence_threshold": Field(
        number(0, 1, "an intent confidence score"),
        0.4,
        "0.6",
        "Below this confidence Lex answers with the fallback intent",
    ),
    "max_toppings": Field(
        integer(1, len(TOPPINGS.items), "toppings on the menu"),
        5,
        "3",
        "Most toppings the code hook accepts on one pizza",
    ),
}

SETTINGS = SettingsSpec(cls=LexChatbotSettings, fields=FIELDS, check=no_check)
