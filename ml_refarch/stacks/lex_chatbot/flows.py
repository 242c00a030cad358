"""Pattern ``lex-chatbot``: its data flows, for the architecture diagram.

Customers talk to the alias (through a channel or an SDK); the alias runs the bot's version
and calls the code hook on each turn; Lex writes conversation text to the log group (and
audio to the bucket when enabled).
"""

from __future__ import annotations

from ml_refarch.diagram.model import BUCKET, EXTERNAL_GROUP, KnownFlow, Match, PatternFlows, Pseudo

_ALIAS = Match("AWS::Lex::BotAlias")
_VERSION = Match("AWS::Lex::BotVersion")
_BOT = Match("AWS::Lex::Bot")

FLOWS = PatternFlows(
    pseudo=(
        Pseudo(
            "customers",
            "Customers",
            "RecognizeText / RecognizeUtterance via SDK or channel",
            EXTERNAL_GROUP,
            _ALIAS,
        ),
    ),
    flows=(
        KnownFlow("customers", _ALIAS, "utterances"),
        KnownFlow(_ALIAS, _VERSION, "serves"),
        KnownFlow(_VERSION, _BOT, "snapshot of the draft"),
        KnownFlow(_ALIAS, Match("AWS::Lambda::Function"), "dialog and fulfillment hook"),
        KnownFlow(_ALIAS, Match("AWS::Logs::LogGroup"), "conversation text"),
        KnownFlow(_ALIAS, BUCKET, "conversation audio"),
    ),
)
