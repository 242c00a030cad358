"""Pattern ``lex-chatbot``: a Lex V2 pizza-ordering bot with a Lambda code hook.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="lex-chatbot",
    order=260,
    stack_name="MlRefArch-LexChatbot",
    title="Lex V2 chatbot with a Lambda code hook",
    notes_section="Lex",
    summary=(
        "Lex V2 bot (en_US) ordering a pizza: custom slot types with synonyms, multi-valued "
        "toppings, confirmation; a Lambda dialog and fulfillment hook validates the slots; "
        "version and alias, KMS-encrypted conversation logs, child-directed and idle-session "
        "settings"
    ),
    stack_class="LexChatbotStack",
    # The key: Lex bills per request, Lambda per invocation, logs per GB.
    idle_cost_band=CostBand(sandbox=(0.5, 2), production=(0.5, 2)),
    replaces=("Amazon Lex V1",),
)
