"""Pattern ``document-ai``: Textract forms and tables on upload, with a human review queue.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="document-ai",
    order=250,
    stack_name="MlRefArch-DocumentAi",
    title="Document analysis with Textract and a human review queue (A2I successor)",
    notes_section="Other AI services; Textract; Augmented AI (A2I)",
    summary=(
        "An upload to the encrypted bucket starts a state machine: Textract "
        "StartDocumentAnalysis (forms, tables), bounded polling, a Lambda writes key-value "
        "pairs and tables as JSON and CSV; low-confidence documents go to a review queue and "
        "table, answered with a CLI"
    ),
    stack_class="DocumentAiStack",
    # The key: Textract, the table, the queue, the function and the workflow bill per use.
    idle_cost_band=CostBand(sandbox=(0.5, 2), production=(0.5, 2)),
    replaces=("Amazon Augmented AI (A2I)",),
)
