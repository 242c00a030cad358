"""Settings of the ``document-ai`` pattern: the review threshold, the polling, the parser.

Textract gives every block a confidence from 0 to 100 ("Block", Amazon Textract API
reference, https://docs.aws.amazon.com/textract/latest/APIReference/API_Block.html); a
field below ``confidence_threshold`` goes to human review. The results of an asynchronous
job are kept for 7 days unless an output bucket is given ("Calling Amazon Textract
Asynchronous Operations", https://docs.aws.amazon.com/textract/latest/dg/api-async.html),
which bounds the polling; a Lambda function runs at most 900 seconds with 128 to 10,240 MB
("Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.settings import Field, Problem, SettingsSpec, integer, number

#: How long Textract keeps an asynchronous job's results ("Calling Amazon Textract
#: Asynchronous Operations": 7 days).
RESULTS_KEPT_SECONDS = 7 * 24 * 60 * 60
LAMBDA_MAX_TIMEOUT_SECONDS = 900
LAMBDA_MEMORY_MIB = (128, 10240)


@dataclass(frozen=True)
class DocumentAiSettings:
    """Settings of the ``document-ai`` pattern.

    Attributes:
        confidence_threshold: a field whose confidence (0-100) is below this goes to review.
        poll_interval_seconds / max_polls: how often and how many times the workflow asks
            Textract whether the analysis has finished before it gives up and alerts.
        parser_memory_mib / parser_timeout_seconds: the results-parsing Lambda function.
    """

    confidence_threshold: float
    poll_interval_seconds: int
    max_polls: int
    parser_memory_mib: int
    parser_timeout_seconds: int

    @property
    def polling_seconds(self) -> int:
        """The longest the workflow waits for an analysis."""
        return self.poll_interval_seconds * self.max_polls


FIELDS = {
    "confidence_threshold": Field(
        number(0, 100, "Textract's confidences run from 0 to 100"),
        90.0,
        "80",
        "Fields read with a lower confidence (0-100) send the document to human review",
    ),
    "poll_interval_seconds": Field(
        integer(5, 3600), 15, "30", "Wait between two GetDocumentAnalysis status calls"
    ),
    "max_polls": Field(
        integer(1, 10000),
        120,
        "240",
        "Status calls before the workflow gives up on an analysis and alerts",
    ),
    "parser_memory_mib": Field(
        integer(*LAMBDA_MEMORY_MIB, "Lambda's memory range"),
        512,
        "1024",
        "Memory of the results parser (it holds one document's blocks)",
    ),
    "parser_timeout_seconds": Field(
        integer(10, LAMBDA_MAX_TIMEOUT_SECONDS, "Lambda runs at most 15 minutes"),
        300,
        "600",
        "Time limit of the results parser",
    ),
}


def check(settings: DocumentAiSettings, prefix: str) -> list[Problem]:
    """The polling ends while Textract still keeps the job's results."""
    if settings.polling_seconds <= RESULTS_KEPT_SECONDS:
        return []
    return [
        Problem(
            key=prefix + "max_polls",
            received=settings.max_polls,
            allowed=(
                f"{prefix}max_polls x {prefix}poll_interval_seconds at most "
                f"{RESULTS_KEPT_SECONDS} s: Textract keeps a job's results 7 days (now "
                f"{settings.polling_seconds} s)"
            ),
            fix="poll less often or fewer times",
        )
    ]


SETTINGS = SettingsSpec(cls=DocumentAiSettings, fields=FIELDS, check=check)
