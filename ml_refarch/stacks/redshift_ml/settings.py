"""Settings of the ``redshift-ml`` pattern: the workgroup's base capacity, the stream, the
database.

Base capacity is in Redshift Processing Units (RPUs) and takes only the values "Compute
capacity for Amazon Redshift Serverless" lists
(https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html): 4, or a multiple
of 8 from 8 to 512; from 512 to 1024 in steps of 32, in the regions that offer it (US East
(N. Virginia), US East (Ohio), US West (Oregon), Europe (Ireland), Europe (Frankfurt)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ml_refarch.settings import Field, SettingsSpec, integer, integer_in, matching

#: Every base capacity Redshift Serverless accepts, in RPUs (see the module docstring).
BASE_CAPACITY_RPUS: tuple[int, ...] = (
    4,
    *range(8, 513, 8),
    *range(544, 1025, 32),
)
#: Base capacities above this are offered in five regions only.
ALL_REGIONS_MAX_RPUS = 512

#: A database name Redshift accepts unquoted: lower case, starting with a letter or
#: underscore, at most 127 bytes ("Names and identifiers", Amazon Redshift Database
#: Developer Guide: https://docs.aws.amazon.com/redshift/latest/dg/r_names.html).
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_$]{0,126}")
#: "dev" is the database a namespace gets when none is named.
DEFAULT_DATABASE = "dev"


@dataclass(frozen=True)
class RedshiftMlSettings:
    """Settings of the ``redshift-ml`` pattern.

    Attributes:
        base_capacity_rpus: the workgroup's base capacity (what a query starts with).
        shard_count: provisioned shards of the Kinesis data stream.
        retention_hours: how long the stream keeps records (24 h to 8760 h).
        database_name: the namespace's first database, where the SQL creates its objects.
    """

    base_capacity_rpus: int
    shard_count: int
    retention_hours: int
    database_name: str


FIELDS = {
    "base_capacity_rpus": Field(
        integer_in(
            BASE_CAPACITY_RPUS,
            "4, a multiple of 8 from 8 to 512, or a multiple of 32 from 544 to 1024 (the "
            "base capacities Redshift Serverless accepts; above 512 only in us-east-1, "
            "us-east-2, us-west-2, eu-west-1 and eu-central-1)",
        ),
        8,
        "32",
        "Base capacity of the workgroup in RPUs (billed only while queries run)",
    ),
    "shard_count": Field(
        integer(1, 500, "the default per-stream shard quota in the largest regions"),
        1,
        "2",
        "Provisioned shards of the Kinesis data stream (each bills per hour, idle too)",
    ),
    "retention_hours": Field(
        integer(24, 8760, "Kinesis keeps records at least 24 h and at most 365 days"),
        24,
        "48",
        "How long the stream keeps records",
    ),
    "database_name": Field(
        matching(
            DATABASE_NAME,
            "a lower-case Redshift identifier: a letter or underscore, then letters, digits, "
            "underscores or $, at most 127 characters",
        ),
        DEFAULT_DATABASE,
        "analytics",
        "The namespace's first database, where the view and the model live",
    ),
}

NOTES = f"""\
Base capacity is in RPUs (one RPU has 16 GiB of memory): 4, or a multiple of 8 up to
{ALL_REGIONS_MAX_RPUS}, in every region; multiples of 32 up to 1024 only in the five regions
that offer them. Redshift Serverless bills RPU-hours only while queries run, so the base
capacity sets the cost of each query, not an idle cost."""

SETTINGS = SettingsSpec(cls=RedshiftMlSettings, fields=FIELDS, notes=NOTES)
