"""The review CLI of the ``document-ai`` pattern: list, show and answer documents whose
Textract results hold fields below the confidence threshold.

The parser (``lambdas/textract_results/handler.py``) puts one item per such document into
the review table (status ``PENDING``, the fields to check) and a message into the review
queue (for review tools that consume it). This CLI works from the table: ``answer`` replaces
the answered fields' values in the document's ``result.json``, marks them reviewed, rewrites
the JSON and CSV beside it, and sets the item's status to ``REVIEWED``.

Usage::

    python -m ml_refarch.stacks.document_ai.review list [--stack-name S] [--region R]
    python -m ml_refarch.stacks.document_ai.review show DOCUMENT_KEY
    python -m ml_refarch.stacks.document_ai.review answer DOCUMENT_KEY FIELD=VALUE ...

Exit codes: 0 done, 1 the answer or document was refused, 2 the stack or AWS could not be
read.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import botocore.exceptions

from ml_refarch.stacks.document_ai import PATTERN
from ml_refarch.stacks.document_ai.outputs import Outputs

PARSER_MODULE = Path(__file__).resolve().parents[3] / "lambdas" / "textract_results" / "handler.py"
PENDING, REVIEWED = "PENDING", "REVIEWED"


class ReviewError(Exception):
    """A request the review cannot carry out, with the reason."""


def parser_module() -> ModuleType:
    """The parser the Lambda function runs (one copy of the results format)."""
    spec = importlib.util.spec_from_file_location("document_ai_textract_results", PARSER_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain values (strings and numbers only)."""
    return {k: v["S"] if "S" in v else int(v["N"]) for k, v in item.items()}


def pending(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """The documents waiting for review, oldest first."""
    items, request = [], {"TableName": table}
    while True:
        page = dynamodb.scan(**request)
        items += [_plain(item) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(
        (item for item in items if item.get("status") == PENDING),
        key=lambda item: item.get("createdAt", ""),
    )


def review_item(dynamodb: Any, table: str, document: str) -> dict[str, Any]:
    found = dynamodb.get_item(TableName=table, Key={"documentId": {"S": document}})
    if "Item" not in found:
        raise ReviewError(f"no review item for {document!r} in table {table}")
    return _plain(found["Item"])


def parse_answers(pairs: Sequence[str]) -> dict[str, str]:
    """``FIELD=VALUE`` arguments as a mapping (a value may hold ``=``)."""
    answers = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field:
            raise ReviewError(f"{pair!r} is not FIELD=VALUE (fields: see 'show')")
        answers[field] = value
    return answers


def answer(
    clients: tuple[Any, Any], table: str, document: str, answers: dict[str, str]
) -> list[str]:
    """Write ``answers`` into the document's results and close its review; the keys
    written."""
    dynamodb, s3 = clients
    item = review_item(dynamodb, table, document)
    if item["status"] != PENDING:
        raise ReviewError(f"{document!r} is {item['status']}, not {PENDING}")
    results = parser_module()
    prefix = item["resultsPrefix"]
    body = s3.get_object(Bucket=item["bucket"], Key=prefix + results.RESULT_FILE)["Body"]
    try:
        result = results.apply_answers(json.loads(body.read()), answers)
    except results.ResultsError as error:
        raise ReviewError(str(error)) from None
    written = results.write_results(s3, item["bucket"], prefix, result)
    dynamodb.update_item(
        TableName=table,
        Key={"documentId": {"S": document}},
        UpdateExpression="SET #s = :reviewed, answers = :answers, answeredAt = :at",
        ConditionExpression="#s = :pending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":reviewed": {"S": REVIEWED},
            ":pending": {"S": PENDING},
            ":answers": {"S": json.dumps(answers, sort_keys=True)},
            ":at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
        },
    )
    return written


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ml_refarch.stacks.document_ai.review",
        description="Review documents whose Textract fields fell below the threshold.",
    )
    parser.add_argument("--stack-name", default=PATTERN.stack_name)
    parser.add_argument("--region", default=None)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="documents waiting for review")
    show = commands.add_parser("show", help="the fields of one document to check")
    show.add_argument("document")
    reply = commands.add_parser("answer", help="correct fields and close the review")
    reply.add_argument("document")
    reply.add_argument("answers", nargs="+", metavar="FIELD=VALUE")
    return parser.parse_args(argv)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def run(args: argparse.Namespace, client: Callable[[str], Any], out=print) -> int:
    """Carry out one command with clients from ``client``; the exit code."""
    try:
        table = stack_outputs(client("cloudformation"), args.stack_name)[Outputs.REVIEW_TABLE_NAME]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, KeyError) as error:
        out(f"error: cannot read stack {args.stack_name}: {error}")
        return 2
    dynamodb = client("dynamodb")
    try:
        if args.command == "list":
            for item in pending(dynamodb, table):
                out(f"{item['documentId']}\t{item['fieldCount']} fields\t{item['createdAt']}")
        elif args.command == "show":
            item = review_item(dynamodb, table, args.document)
            out(f"{item['documentId']} ({item['status']}), results s3://{item['bucket']}/"
                f"{item['resultsPrefix']}")  # fmt: skip
            for field in json.loads(item["fields"]):
                out(f"{field['field']}\t{field['label']!r} = {field['value']!r} "
                    f"({field['confidence']:.1f}%)")  # fmt: skip
        else:
            answers = parse_answers(args.answers)
            written = answer((dynamodb, client("s3")), table, args.document, answers)
            out(f"answered {len(answers)} fields; rewrote {', '.join(written)}")
    except ReviewError as error:
        out(f"error: {error}")
        return 1
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        out(f"error: AWS refused or failed the call: {error}")
        return 2
    return 0


def main(argv: Sequence[str] | None = None, session: Any = None) -> int:
    args = _arguments(argv)
    if session is None:
        import boto3  # only when the CLI talks to AWS

        session = boto3.Session(region_name=args.region)
    return run(args, session.client)


if __name__ == "__main__":
    sys.exit(main())
