"""ml_refarch.aws_facts: the formats and limits several layers check against."""

from __future__ import annotations

import pytest

from ml_refarch.aws_facts import INSTANCE_TYPE, REGION_NAME, S3_URI
from ml_refarch.compliance.rules.storage import LUSTRE_PORTS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ml.m5.large", True),
        ("ml.g4dn.12xlarge", True),
        ("ml.t3.medium", True),
        ("m5.large", False),
        ("ml.m5.huge", False),
        ("ml.M5.large", False),
    ],
)
def test_instance_type(text, expected):
    assert bool(INSTANCE_TYPE.fullmatch(text)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("us-east-1", True),
        ("ap-southeast-2", True),
        ("us-gov-west-1", True),
        ("US East", False),
        ("us-east", False),
    ],
)
def test_region_name(text, expected):
    assert bool(REGION_NAME.fullmatch(text)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://my-bucket", True),
        ("s3://my.bucket/prefix/key", True),
        ("s3://ab", False),
        ("s3://My-Bucket/x", False),
        ("s3://-bucket/x", False),
        ("https://my-bucket/x", False),
    ],
)
def test_s3_uri(text, expected):
    assert bool(S3_URI.fullmatch(text)) is expected


def test_lustre_ports_are_988_and_1018_to_1023():
    assert LUSTRE_PORTS == (988, 1018, 1019, 1020, 1021, 1022, 1023)
