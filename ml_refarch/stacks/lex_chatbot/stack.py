"""Pattern ``lex-chatbot``: a Lex V2 bot that takes pizza orders, with a Lambda code hook.

Notes section "Lex" (a chatbot for ordering a pizza: intents, utterances, slots; a Lambda
function fulfils the intent). Lex V1 reached end of support on 15 September 2025 (its
migration page, https://docs.aws.amazon.com/lex/latest/dg/migrate.html), so this is Lex V2,
built from CloudFormation's AWS::Lex::* types. Resources:

- the bot (``AWS::Lex::Bot``) with its en_US locale inline (:mod:`.bot`): custom slot types
  from :mod:`.menu`, the ``OrderPizza`` intent with a confirmation prompt and both code
  hooks on; data privacy (``ChildDirected``) and the idle session TTL from settings; locales
  built on deploy (a version needs a built locale);
- the bot's role, trusted by ``lexv2.amazonaws.com``: ``RoleArn`` is
  required by CreateBot, and a role of our own lets the conversation logs' writes sit beside
  Polly's ``SynthesizeSpeech``, which is all AWS's service-linked role policy for Lex V2
  bots holds ("AmazonLexV2BotPolicy",
  https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonLexV2BotPolicy.html);
  Lex V2 writes conversation logs as this role ("IAM Policies for Conversation Logs",
  https://docs.aws.amazon.com/lexv2/latest/dg/conversation-logs-policies.html);
- a version (``AWS::Lex::BotVersion``) named after the locale's digest, so a changed bot
  gets a new version, and the ``live`` alias (``AWS::Lex::BotAlias``) on it, which names
  the code hook and turns on conversation logs: text to a KMS-encrypted log group, audio to
  a KMS bucket when ``audio_logs`` is on;
- the code hook (``lambdas/pizza_order``) and its resource policy: only Lex V2, only
  through this alias ("Resource-based policy examples for Amazon Lex V2",
  https://docs.aws.amazon.com/lexv2/latest/dg/security_iam_resource-based-policy-examples.html).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lex as lex
from aws_cdk import aws_s3 as s3

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.python_function import Unbounded, traced_function
from ml_refarch.constructs.service_role import service_role
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.lex_chatbot import bot
from ml_refarch.stacks.lex_chatbot.menu import menu_json
from ml_refarch.stacks.lex_chatbot.outputs import Outputs
from ml_refarch.stacks.lex_chatbot.settings import LexChatbotSettings

CODE_HOOK = "pizza_order"
LEX_SERVICE_PRINCIPAL = "lexv2.amazonaws.com"
ALIAS_NAME = "live"
#: Prefixes of the conversation logs: Lex adds its own path below them.
TEXT_LOG_PREFIX = "pizza-orders"
AUDIO_LOG_PREFIX = "audio/"
#: The code hook's event format version (Lex V2 only knows "1.0").
CODE_HOOK_INTERFACE_VERSION = "1.0"


class LexChatbotStack(PatternStack):
    """A Lex V2 pizza bot, its version and alias, its code hook and conversation logs.

    Attributes:
        key: the stack's key. conversation_logs: text logs. audio_bucket: audio logs or None.
        code_hook: the Lambda function. bot / version / alias: the Lex V2 resources (L1).
    """

    def build(self, settings: LexChatbotSettings) -> None:
        self.key = self.data_key("conversation logs, audio logs and the code hook")
        self.conversation_logs = self.log_group("ConversationLogs", self.key)
        self.audio_bucket = self._audio_bucket() if settings.audio_logs else None
        self.code_hook = self._code_hook(settings)
        role, role_policy = self._bot_role()
        locale = bot.locale(settings.nlu_confidence_threshold)
        self.bot = lex.CfnBot(
            self,
            "Bot",
            name=f"{self.stack_name}-PizzaOrders",
            description="Takes pizza orders: size, crust and toppings",
            role_arn=role.role_arn,
            data_privacy={"ChildDirected": settings.child_directed},
            idle_session_ttl_in_seconds=settings.idle_session_ttl_seconds,
            auto_build_bot_locales=True,
        )
        self.bot.add_property_override("BotLocales", [locale])
        # Lex checks the role when it builds the locale: its rights must exist first.
        self.bot.node.add_dependency(role_policy)
        self.version = lex.CfnBotVersion(
            self,
            f"BotVersion{bot.digest(locale)}",
            bot_id=self.bot.attr_id,
            description=f"Pizza orders, locale digest {bot.digest(locale)}",
            bot_version_locale_specification=[
                lex.CfnBotVersion.BotVersionLocaleSpecificationProperty(
                    locale_id=bot.LOCALE_ID,
                    bot_version_locale_details=lex.CfnBotVersion.BotVersionLocaleDetailsProperty(
                        source_bot_version="DRAFT"
                    ),
                )
            ],
        )
        self.alias = self._alias()
        self.code_hook.add_permission(
            "LexAliasInvokes",
            principal=iam.ServicePrincipal(LEX_SERVICE_PRINCIPAL),
            source_arn=self.alias.attr_arn,
            source_account=self.account,
        )
        self._declare_outputs()

    # --- logs and the code hook -----------------------------------------------------------

    def _audio_bucket(self) -> s3.Bucket:
        return SecureBucket(
            self,
            "AudioLogs",
            **self.defaults.bucket_props(),
            encryption_key=self.key,
            contents="Audio of the bot's conversations (conversation logs)",
            no_replication_because=(
                "Conversation audio is a record of past sessions for review, not data the "
                "pattern rebuilds or serves; replication is left to the team."
            ),
        ).bucket

    def _code_hook(self, settings: LexChatbotSettings) -> lambda_.Function:
        return traced_function(
            self,
            "CodeHook",
            role_description="Pizza bot code hook: its logs and traces only",
            statements=[],
            wildcards_because=(
                "X-Ray's trace actions have no resource-level permissions; the code hook "
                "calls no other AWS service."
            ),
            handler_dir=CODE_HOOK,
            description="Lex V2 dialog and fulfillment code hook: validates pizza orders",
            log_group=self.log_group("CodeHookLogs", self.key),
            key=self.key,
            memory_size=256,
            # Validating three slots takes milliseconds; a short limit ends a stuck call.
            timeout=cdk.Duration.seconds(10),
            environment={"MENU": menu_json(settings.max_toppings)},
            unbounded=Unbounded(
                no_vpc_because=(
                    "The code hook only validates the slots Lex sends and answers; it calls no "
                    "AWS service, so a VPC would isolate nothing."
                ),
                no_concurrency_because=(
                    "Reserving concurrency fails in new accounts whose whole quota is 10; Lex "
                    "throttles the conversations that reach it."
                ),
                no_dlq_because=(
                    "Lex invokes the code hook synchronously and tells the customer when it "
                    "fails; an asynchronous DLQ would never be used."
                ),
            ),
        )

    # --- the bot's role and alias ---------------------------------------------------------

    def _bot_role(self) -> tuple[iam.Role, iam.ManagedPolicy]:
        statements = [
            iam.PolicyStatement(sid="Speech", actions=["polly:SynthesizeSpeech"], resources=["*"]),
            iam.PolicyStatement(
                sid="TextLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.conversation_logs.log_group_arn],
            ),
        ]
        if self.audio_bucket is not None:
            statements += [
                iam.PolicyStatement(
                    sid="AudioLogs",
                    actions=["s3:PutObject"],
                    resources=[self.audio_bucket.arn_for_objects(f"{AUDIO_LOG_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="AudioLogKey",
                    actions=["kms:GenerateDataKey"],
                    resources=[self.key.key_arn],
                ),
            ]
        role, policy = service_role(
            self,
            "Bot",
            service=LEX_SERVICE_PRINCIPAL,
            description="Lex V2 pizza bot: Polly speech and its conversation logs",
            statements=statements,
            # No aws:SourceAccount/SourceArn condition: the trust policy on "IAM Policies for
            # Conversation Logs" has none, and no Lex V2 page says which source keys Lex
            # sends when it assumes the bot's role; a condition it does not meet would
            # break every conversation.
        )
        findings = ["AwsSolutions-IAM5[Resource::*]"]
        if self.audio_bucket is not None:
            logical_id = self.get_logical_id(self.audio_bucket.node.default_child)
            findings.append(f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{AUDIO_LOG_PREFIX}*]")
        acknowledge(
            policy,
            "polly:SynthesizeSpeech has no resource-level permissions (Lex speaks with "
            "Polly voices); Lex names each audio log object per session under the prefix.",
            *findings,
        )
        return role, policy

    def _alias(self) -> lex.CfnBotAlias:
        text_logs = [
            {
                "Enabled": True,
                "Destination": {
                    "CloudWatch": {
                        "CloudWatchLogGroupArn": self.conversation_logs.log_group_arn,
                        "LogPrefix": TEXT_LOG_PREFIX,
                    }
                },
            }
        ]
        log_settings: dict = {"TextLogSettings": text_logs}
        if self.audio_bucket is not None:
            log_settings["AudioLogSettings"] = [
                {
                    "Enabled": True,
                    "Destination": {
                        "S3Bucket": {
                            "S3BucketArn": self.audio_bucket.bucket_arn,
                            "LogPrefix": AUDIO_LOG_PREFIX,
                            "KmsKeyArn": self.key.key_arn,
                        }
                    },
                }
            ]
        alias = lex.CfnBotAlias(
            self,
            "Alias",
            bot_id=self.bot.attr_id,
            bot_alias_name=ALIAS_NAME,
            bot_version=self.version.attr_bot_version,
            description="The version customers talk to, with the code hook and logs",
            sentiment_analysis_settings={"DetectSentiment": False},
        )
        alias.add_property_override(
            "BotAliasLocaleSettings",
            [
                {
                    "LocaleId": bot.LOCALE_ID,
                    "BotAliasLocaleSetting": {
                        "Enabled": True,
                        "CodeHookSpecification": {
                            "LambdaCodeHook": {
                                "CodeHookInterfaceVersion": CODE_HOOK_INTERFACE_VERSION,
                                "LambdaArn": self.code_hook.function_arn,
                            }
                        },
                    },
                }
            ],
        )
        alias.add_property_override("ConversationLogSettings", log_settings)
        return alias

    def _declare_outputs(self) -> None:
        self.output(Outputs.BOT_ID, self.bot.attr_id, "The bot (RecognizeText's botId)")
        self.output(Outputs.BOT_ALIAS_ID, self.alias.attr_bot_alias_id, "The live alias")
        self.output(Outputs.BOT_VERSION, self.version.attr_bot_version, "The alias's version")
        self.output(Outputs.LOCALE_ID, bot.LOCALE_ID, "The bot's locale")
        self.output(Outputs.CODE_HOOK_NAME, self.code_hook.function_name, "The code hook")
        self.output(
            Outputs.CONVERSATION_LOG_GROUP,
            self.conversation_logs.log_group_name,
            "Text conversation logs",
        )
        if self.audio_bucket is not None:
            self.output(
                Outputs.AUDIO_LOG_BUCKET, self.audio_bucket.bucket_name, "Audio conversation logs"
            )
