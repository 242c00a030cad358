"""The lex-chatbot stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The lex-chatbot stack's outputs."""

    BOT_ID = "BotId"
    BOT_ALIAS_ID = "BotAliasId"
    BOT_VERSION = "BotVersion"
    LOCALE_ID = "LocaleId"
    CODE_HOOK_NAME = "CodeHookFunctionName"
    CONVERSATION_LOG_GROUP = "ConversationLogGroupName"
    AUDIO_LOG_BUCKET = "AudioLogBucketName"
