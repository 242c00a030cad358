"""Pattern ``document-ai``: its data flows, for the architecture diagram.

A person uploads a document to the bucket; its object event matches the upload rule, which
starts the state machine; the state machine starts a Textract analysis of the document and
polls it, then invokes the parser, which writes the results to the bucket and puts
documents with low-confidence fields in the review table and queue; a reviewer answers with
the review CLI, which writes the answers back. Textract and the reviewer are pseudo-nodes.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    BUCKET,
    EXTERNAL_GROUP,
    OTHER_GROUP,
    STATE_MACHINE,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
)

_RULE = Match("AWS::Events::Rule")
_FUNCTION = Match("AWS::Lambda::Function")
_TABLE = Match("AWS::DynamoDB::Table")
_QUEUE = Match("AWS::SQS::Queue")
_TOPIC = Match("AWS::SNS::Topic")

FLOWS = PatternFlows(
    pseudo=(
        Pseudo("uploader", "Uploader", "PutObject incoming/", EXTERNAL_GROUP, BUCKET),
        Pseudo(
            "textract",
            "Amazon Textract",
            "StartDocumentAnalysis: FORMS, TABLES",
            OTHER_GROUP,
            STATE_MACHINE,
            r"textract:startDocumentAnalysis",
        ),
        Pseudo("reviewer", "Reviewer", "review CLI: list, show, answer", EXTERNAL_GROUP, _TABLE),
    ),
    flows=(
        KnownFlow("uploader", BUCKET, "documents"),
        KnownFlow(BUCKET, _RULE, "Object Created event", by_design=True),
        KnownFlow(_RULE, STATE_MACHINE, "starts per upload"),
        KnownFlow(STATE_MACHINE, "textract", "start, poll status"),
        KnownFlow("textract", BUCKET, "reads the document"),
        KnownFlow(STATE_MACHINE, _FUNCTION, "parses"),
        KnownFlow(_FUNCTION, "textract", "GetDocumentAnalysis pages"),
        KnownFlow(_FUNCTION, BUCKET, "JSON and CSV results", by_design=True),
        KnownFlow(_FUNCTION, _TABLE, "low-confidence fields"),
        KnownFlow(_FUNCTION, _QUEUE, "review message"),
        KnownFlow("reviewer", BUCKET, "answers written back"),
        KnownFlow(STATE_MACHINE, _TOPIC, "failure alerts"),
    ),
)
