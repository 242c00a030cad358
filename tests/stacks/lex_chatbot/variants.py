"""Settings variants this pattern's templates are also synthesized, snapshotted and linted in
(see ``tests/support.py``): settings that change which resources exist."""

VARIANTS = {"sandbox-audio-logs": {"lex-chatbot.audio_logs": "true"}}
