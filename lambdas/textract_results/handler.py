"""Turn a Textract document analysis (FORMS and TABLES) into key-value pairs and tables, in
JSON and CSV, and route documents with low-confidence fields to human review.

Textract returns a document as ``Block`` objects ("Block", Amazon Textract API reference,
https://docs.aws.amazon.com/textract/latest/APIReference/API_Block.html): each has a
``BlockType``, an ``Id``, a ``Confidence`` (0-100), the ``Page`` it is on (asynchronous
operations) and ``Relationships`` (``Type`` and ``Ids``) to other blocks.

- Form data: a ``KEY_VALUE_SET`` block whose ``EntityTypes`` holds ``KEY`` has a ``VALUE``
  relationship to its value block (also ``KEY_VALUE_SET``, ``EntityTypes`` ``VALUE``) and
  ``CHILD`` relationships to the ``WORD`` blocks of the key's text; the value's ``CHILD``
  blocks are its words, or a ``SELECTION_ELEMENT`` with ``SelectionStatus`` ``SELECTED`` or
  ``NOT_SELECTED`` ("Form Data (Key-Value Pairs)",
  https://docs.aws.amazon.com/textract/latest/dg/how-it-works-kvp.html; "Selection
  Elements", https://docs.aws.amazon.com/textract/latest/dg/how-it-works-selectables.html).
- Tables: a ``TABLE`` block has ``CHILD`` relationships to its ``CELL`` blocks, each with a
  1-based ``RowIndex`` and ``ColumnIndex``, ``RowSpan`` and ``ColumnSpan``, and ``CHILD``
  relationships to its words ("Tables",
  https://docs.aws.amazon.com/textract/latest/dg/how-it-works-tables.html).
- ``GetDocumentAnalysis`` returns the blocks of an asynchronous analysis a page of results at
  a time: ``JobStatus`` (``IN_PROGRESS``, ``SUCCEEDED``, ``FAILED``, ``PARTIAL_SUCCESS``),
  ``Blocks``, ``DocumentMetadata.Pages`` and a ``NextToken`` while more remain; ``MaxResults``
  is at most 1,000
  (https://docs.aws.amazon.com/textract/latest/APIReference/API_GetDocumentAnalysis.html).

A field's confidence is the lowest of the blocks it is read from (key and value, or the
cell). Fields below the threshold go to review: the document's review item (one per
document, status ``PENDING``, the fields to check) is put into the review table and a
message naming it is sent to the review queue. A reviewer's answers replace the values,
mark them ``reviewed`` and rewrite the JSON and CSV (:func:`apply_answers`,
:func:`write_results`).

Event: ``{"jobId": ..., "bucket": ..., "documentKey": ...}`` (the state machine passes them
once the job has ``SUCCEEDED``). Environment: ``RESULTS_PREFIX`` (results go to
``<prefix><document key>/``), ``CONFIDENCE_THRESHOLD`` (0-100), ``REVIEW_TABLE`` and
``REVIEW_QUEUE_URL``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

#: GetDocumentAnalysis's largest page of results.
MAX_RESULTS = 1000
#: What a selection element's status reads as in the results.
SELECTION_TEXT = {"SELECTED": "SELECTED", "NOT_SELECTED": "NOT_SELECTED"}
RESULT_FILE = "result.json"
KEY_VALUES_FILE = "key-values.csv"
KEY_VALUE_COLUMNS = ("field", "page", "key", "value", "confidence", "reviewed")


class ResultsError(ValueError):
    """A response or an answer the parser cannot use, with the reason."""


# --- parsing ------------------------------------------------------------------------------


def _index(blocks: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    by_id: dict[str, Mapping[str, Any]] = {}
    for block in blocks:
        if "Id" not in block or "BlockType" not in block:
            raise ResultsError(f"a block without Id or BlockType: {dict(block)!r}")
        by_id[block["Id"]] = block
    return by_id


def _related(block: Mapping[str, Any], kind: str, by_id: Mapping[str, Mapping]) -> list[Mapping]:
    """The blocks ``block`` names in its relationships of type ``kind``, in order."""
    found = []
    for relationship in block.get("Relationships") or ():
        if relationship.get("Type") != kind:
            continue
        for block_id in relationship.get("Ids") or ():
            if block_id not in by_id:
                raise ResultsError(f"block {block['Id']} names a missing block {block_id}")
            found.append(by_id[block_id])
    return found


def _text(block: Mapping[str, Any], by_id: Mapping[str, Mapping]) -> tuple[str, float]:
    """The text of a value, key or cell block and the lowest confidence among it and its
    children (words; a selection element reads as its status)."""
    words, confidences = [], [float(block.get("Confidence", 100.0))]
    for child in _related(block, "CHILD", by_id):
        if child["BlockType"] == "WORD":
            words.append(child.get("Text", ""))
        elif child["BlockType"] == "SELECTION_ELEMENT":
            words.append(SELECTION_TEXT.get(child.get("SelectionStatus", ""), ""))
        else:
            continue
        confidences.append(float(child.get("Confidence", 100.0)))
    return " ".join(word for word in words if word), min(confidences)


def key_values(by_id: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every key with its value, in the order Textract returned the keys."""
    pairs = []
    for block in by_id.values():
        if block["BlockType"] != "KEY_VALUE_SET" or "KEY" not in block.get("EntityTypes", ()):
            continue
        key_text, key_confidence = _text(block, by_id)
        value_text, value_confidence = "", key_confidence
        for value in _related(block, "VALUE", by_id):
            value_text, value_confidence = _text(value, by_id)
        pairs.append(
            {
                "field": f"kv-{block['Id']}",
                "page": int(block.get("Page", 1)),
                "key": key_text.rstrip(":").strip(),
                "value": value_text,
                "confidence": round(min(key_confidence, value_confidence), 3),
                "reviewed": False,
            }
        )
    return pairs


def tables(by_id: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every table as rows of cells (``None`` where a merged cell's span covers it)."""
    found = []
    for block in by_id.values():
        if block["BlockType"] != "TABLE":
            continue
        cells = [cell for cell in _related(block, "CHILD", by_id) if cell["BlockType"] == "CELL"]
        if not cells:
            continue
        rows = max(int(c["RowIndex"]) + int(c.get("RowSpan", 1)) - 1 for c in cells)
        columns = max(int(c["ColumnIndex"]) + int(c.get("ColumnSpan", 1)) - 1 for c in cells)
        grid: list[list[dict[str, Any] | None]] = [[None] * columns for _ in range(rows)]
        for cell in cells:
            text, confidence = _text(cell, by_id)
            row, column = int(cell["RowIndex"]), int(cell["ColumnIndex"])
            grid[row - 1][column - 1] = {
                "field": f"cell-{cell['Id']}",
                "row": row,
                "column": column,
                "text": text,
                "confidence": round(confidence, 3),
                "header": "COLUMN_HEADER" in cell.get("EntityTypes", ()),
                "reviewed": False,
            }
        found.append(
            {"table": f"table-{len(found) + 1}", "page": int(block.get("Page", 1)), "rows": grid}
        )
    return found


def parse(responses: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The key-value pairs and tables of one analysis, from its GetDocumentAnalysis pages
    (or one AnalyzeDocument response)."""
    blocks: list[Mapping[str, Any]] = []
    pages = 0
    for response in responses:
        status = response.get("JobStatus", "SUCCEEDED")
        if status not in ("SUCCEEDED", "PARTIAL_SUCCESS"):
            raise ResultsError(f"the analysis has status {status}, not SUCCEEDED")
        blocks.extend(response.get("Blocks") or ())
        pages = max(pages, int((response.get("DocumentMetadata") or {}).get("Pages", 0)))
    by_id = _index(blocks)
    return {"pages": pages, "keyValues": key_values(by_id), "tables": tables(by_id)}


# --- review -------------------------------------------------------------------------------


def _fields(result: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    yield from result["keyValues"]
    for table in result["tables"]:
        for row in table["rows"]:
            yield from (cell for cell in row if cell is not None)


def low_confidence(result: Mapping[str, Any], threshold: float) -> list[dict[str, Any]]:
    """The fields a person should check: confidence below ``threshold``, not yet reviewed."""
    found = []
    for field in _fields(result):
        if field["reviewed"] or field["confidence"] >= threshold:
            continue
        found.append(
            {
                "field": field["field"],
                "label": field.get("key") or f"row {field['row']}, column {field['column']}",
                "value": field["value"] if "value" in field else field["text"],
                "confidence": field["confidence"],
            }
        )
    return found


def apply_answers(result: dict[str, Any], answers: Mapping[str, str]) -> dict[str, Any]:
    """``result`` with each answered field's value replaced and marked reviewed.

    Raises:
        ResultsError: an answer names no field of the result.
    """
    by_field = {field["field"]: field for field in _fields(result)}
    unknown = sorted(set(answers) - set(by_field))
    if unknown:
        raise ResultsError(
            f"no such field in the results: {', '.join(unknown)} (fields: "
            f"{', '.join(sorted(by_field)) or 'none'})"
        )
    for name, answer in answers.items():
        field = by_field[name]
        field["value" if "value" in field else "text"] = answer
        field["reviewed"] = True
    return result


# --- output -------------------------------------------------------------------------------


def _csv(rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def key_values_csv(result: Mapping[str, Any]) -> str:
    """One row per key-value pair, with a header."""
    return _csv(
        [
            KEY_VALUE_COLUMNS,
            *(
                [pair[column] for column in KEY_VALUE_COLUMNS[:-1]]
                + ["true" if pair["reviewed"] else "false"]
                for pair in result["keyValues"]
            ),
        ]
    )


def table_csv(table: Mapping[str, Any]) -> str:
    """The table's text, one CSV row per table row (a cell a span covers is empty)."""
    return _csv([[cell["text"] if cell else "" for cell in row] for row in table["rows"]])


def result_files(result: Mapping[str, Any]) -> dict[str, str]:
    """File name -> text of everything written for one document."""
    files = {RESULT_FILE: json.dumps(result, indent=2, sort_keys=True) + "\n"}
    files[KEY_VALUES_FILE] = key_values_csv(result)
    for table in result["tables"]:
        files[f"{table['table']}.csv"] = table_csv(table)
    return files


def results_prefix(prefix: str, document_key: str) -> str:
    """Where one document's results go: ``<prefix><document key>/``."""
    return f"{prefix}{document_key.strip('/')}/"


def write_results(s3: Any, bucket: str, prefix: str, result: Mapping[str, Any]) -> list[str]:
    """Write the JSON and CSV under ``prefix``; the keys written."""
    keys = []
    for name, body in result_files(result).items():
        content_type = "application/json" if name.endswith(".json") else "text/csv"
        s3.put_object(
            Bucket=bucket, Key=prefix + name, Body=body.encode(), ContentType=content_type
        )
        keys.append(prefix + name)
    return keys


# --- the function -------------------------------------------------------------------------


def analysis_pages(get_page: Callable[..., Mapping[str, Any]], job_id: str) -> list[Mapping]:
    """Every page of results of job ``job_id`` (``get_page`` is GetDocumentAnalysis)."""
    pages, token = [], None
    while True:
        request = {"JobId": job_id, "MaxResults": MAX_RESULTS}
        if token:
            request["NextToken"] = token
        page = get_page(**request)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            return pages


def review_item(document_id: str, bucket: str, prefix: str, fields: list[dict]) -> dict:
    """The review table's item for a document with low-confidence fields."""
    return {
        "documentId": document_id,
        "status": "PENDING",
        "bucket": bucket,
        "resultsPrefix": prefix,
        "fields": json.dumps(fields, sort_keys=True),
        "fieldCount": len(fields),
        "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def handler(event: Mapping[str, Any], context: Any = None, clients: Any = None) -> dict:
    """Parse the job's results, write them, and queue the document for review if needed."""
    import boto3  # the parser above runs without the SDK

    textract, s3, dynamodb, sqs = clients or (
        boto3.client(name) for name in ("textract", "s3", "dynamodb", "sqs")
    )
    threshold = float(os.environ["CONFIDENCE_THRESHOLD"])
    result = parse(analysis_pages(textract.get_document_analysis, event["jobId"]))
    result["document"] = {"bucket": event["bucket"], "key": event["documentKey"]}
    result["jobId"] = event["jobId"]
    prefix = results_prefix(os.environ["RESULTS_PREFIX"], event["documentKey"])
    write_results(s3, event["bucket"], prefix, result)
    fields = low_confidence(result, threshold)
    if fields:
        item = review_item(event["documentKey"], event["bucket"], prefix, fields)
        dynamodb.put_item(
            TableName=os.environ["REVIEW_TABLE"],
            Item={
                name: {"N": str(value)} if isinstance(value, int) else {"S": value}
                for name, value in item.items()
            },
        )
        sqs.send_message(
            QueueUrl=os.environ["REVIEW_QUEUE_URL"],
            MessageBody=json.dumps(
                {"documentId": event["documentKey"], "fields": len(fields), "prefix": prefix}
            ),
        )
    return {
        "resultsUri": f"s3://{event['bucket']}/{prefix}",
        "keyValues": len(result["keyValues"]),
        "tables": len(result["tables"]),
        "lowConfidenceFields": len(fields),
    }
