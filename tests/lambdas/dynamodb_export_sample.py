"""A DynamoDB table export, as DynamoDB writes it to S3, for the converter's tests.

Layout and formats from "DynamoDB table export output format"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):
``<prefix>/AWSDynamoDB/<export id>/manifest-summary.json`` names ``manifest-files.json``
(one JSON line per data file: ``itemCount``, ``md5Checksum``, ``etag``, ``dataFileS3Key``);
each data file is gzip JSON lines, ``{"Item": {...}}`` in DynamoDB JSON. The items use every
attribute type (S, N, B, BOOL, NULL, M, L, SS, NS, BS); the second data file also holds
malformed lines, which the converter must count and report.

``python -m tests.lambdas.dynamodb_export_sample`` rewrites the committed copy under
:data:`SAMPLE_ROOT`; a test checks the copy matches this module.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

SAMPLE_ROOT = Path(__file__).resolve().parent / "data" / "dynamodb-export"
PREFIX = "exports/"
EXPORT_ID = "01764979200000-5f3a9c1e"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Customers"
EXPORT_ARN = f"{TABLE_ARN}/export/{EXPORT_ID}"
BASE = f"{PREFIX}AWSDynamoDB/{EXPORT_ID}"
SUMMARY_KEY = f"{BASE}/manifest-summary.json"

#: Items of the first data file: every attribute type at least once.
ITEMS_1 = [
    {
        "customer_id": {"S": "c-001"},
        "signup_day": {"N": "20250101"},
        "name": {"S": 'Ana "Quoted", with comma'},
        "balance": {"N": "1234.5678901234567890123"},
        "avatar": {"B": "iVBORw0KGgo="},
        "active": {"BOOL": True},
        "referrer": {"NULL": True},
        "address": {"M": {"city": {"S": "Lisbon"}, "zip": {"N": "1000"}}},
        "recent": {"L": [{"S": "a"}, {"N": "2"}, {"BOOL": False}, {"NULL": True}]},
        "tags": {"SS": ["gold", "eu"]},
        "scores": {"NS": ["1", "2.5", "-3"]},
        "keys": {"BS": ["AAE=", "AgM="]},
    },
    {
        "customer_id": {"S": "c-002"},
        "signup_day": {"N": "20250102"},
        "name": {"S": "Bo\nnewline"},
        "active": {"BOOL": False},
    },
]
#: The second data file: one good item between malformed lines of every kind.
LINES_2 = [
    json.dumps({"Item": {"customer_id": {"S": "c-003"}, "signup_day": {"N": "7"}}}),
    '{"Item": {"customer_id": {"S": "c-004"}',  # truncated JSON
    json.dumps({"Items": {"customer_id": {"S": "c-005"}}}),  # no "Item"
    json.dumps({"Item": {"customer_id": {"X": "c-006"}}}),  # unknown type
    json.dumps({"Item": {"customer_id": {"S": "c-007"}, "n": {"N": "one"}}}),  # bad number
    json.dumps({"Item": {"customer_id": {"S": "c-008"}, "b": {"B": "not base64!"}}}),
    json.dumps({"Item": {"customer_id": "c-009"}}),  # value without a type
]
GOOD_ITEMS = 3
MALFORMED_LINES = 6


def _gzip(lines: list[str]) -> bytes:
    # mtime=0: the same bytes every time, so the committed copy can be compared.
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)


def sample_files() -> dict[str, bytes]:
    """S3 key -> bytes of every object of the export."""
    data = [
        _gzip([json.dumps({"Item": item}) for item in ITEMS_1]),
        _gzip(LINES_2),
    ]
    files: dict[str, bytes] = {}
    manifest_lines = []
    for body, count in zip(data, (len(ITEMS_1), len(LINES_2)), strict=True):
        digest = hashlib.md5(body, usedforsecurity=False)
        key = f"{BASE}/data/{digest.hexdigest()[:26]}.json.gz"
        files[key] = body
        manifest_lines.append(
            json.dumps(
                {
                    "itemCount": count,
                    "md5Checksum": digest.hexdigest(),
                    "etag": digest.hexdigest() + "-1",
                    "dataFileS3Key": key,
                }
            )
        )
    files[f"{BASE}/manifest-files.json"] = ("\n".join(manifest_lines) + "\n").encode()
    summary = {
        "version": "2020-06-30",
        "exportArn": EXPORT_ARN,
        "startTime": "2025-12-06T00:00:00.000Z",
        "endTime": "2025-12-06T00:05:00.000Z",
        "tableArn": TABLE_ARN,
        "tableId": "12345a12-abcd-123a-ab12-1234abc12345",
        "exportTime": "2025-12-06T00:00:00.000Z",
        "s3Bucket": "export-bucket",
        "s3Prefix": PREFIX.rstrip("/"),
        "s3SseAlgorithm": "KMS",
        "s3SseKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/example",
        "manifestFilesS3Key": f"{BASE}/manifest-files.json",
        "billedSizeBytes": 0,
        "itemCount": len(ITEMS_1) + len(LINES_2),
        "outputFormat": "DYNAMODB_JSON",
    }
    files[SUMMARY_KEY] = (json.dumps(summary, indent=2) + "\n").encode()
    files[f"{BASE}/_started"] = b""
    return files


def write_sample(root: Path = SAMPLE_ROOT) -> None:
    for key, body in sample_files().items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


if __name__ == "__main__":
    write_sample()
