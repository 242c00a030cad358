"""Settings of the ``etl-export`` pattern: the schedule, the export's polling, the converter.

EventBridge Scheduler takes three forms of expression ("Schedule types in EventBridge
Scheduler", https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
``rate(value unit)`` (minutes, hours or days), ``cron(minutes hours day-of-month month
day-of-week year)`` and the one-time ``at(yyyy-mm-ddThh:mm:ss)``. A standard workflow runs
at most a year (the notes, "Step functions"), which bounds the polling; a Lambda function
runs at most 900 seconds with 128 to 10,240 MB of memory ("Lambda quotas",
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ml_refarch.settings import (
    Field,
    Invalid,
    Problem,
    SettingsSpec,
    eventbridge_schedule,
    integer,
    matching,
    parser,
)

#: A standard workflow's longest run (notes, "Step functions": one year).
MAX_EXECUTION_SECONDS = 365 * 24 * 60 * 60
#: Lambda's longest run and its memory range ("Lambda quotas").
LAMBDA_MAX_TIMEOUT_SECONDS = 900
LAMBDA_MEMORY_MIB = (128, 10240)

_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
SCHEDULE_FORMS = (
    "an EventBridge Scheduler expression: 'rate(N unit)' (unit minute(s), hour(s) or "
    "day(s), singular only for 1), 'cron(min hour day-of-month month day-of-week year)' "
    "with '?' in exactly one of day-of-month and day-of-week, or a one-time "
    "'at(yyyy-mm-ddThh:mm:ss)'"
)


@parser(SCHEDULE_FORMS)
def scheduler_expression(value: Any) -> str:
    """A Scheduler expression: EventBridge's rate and cron forms, or a one-time ``at()``."""
    text = " ".join(value.split()) if isinstance(value, str) else ""
    at = _AT.fullmatch(text)
    if at is not None:
        try:
            datetime.strptime(at.group(1), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise Invalid(SCHEDULE_FORMS, f"{at.group(1)} is no date and time") from None
        return text
    if text.startswith(("rate(", "cron(")):
        try:
            return eventbridge_schedule(text)
        except Invalid:
            pass
    raise Invalid(SCHEDULE_FORMS)


#: DynamoDB attribute names are 1 to 255 characters; these are also CSV header cells, so
#: keep them to letters, digits and ``_.-``.
attribute_name = matching(
    re.compile(r"[A-Za-z0-9_.-]{1,255}"),
    "an attribute name of 1-255 letters, digits, '_', '.' or '-'",
)


@dataclass(frozen=True)
class EtlExportSettings:
    """Settings of the ``etl-export`` pattern.

    Attributes:
        schedule_expression: when Scheduler starts the workflow (UTC).
        partition_key: the table's partition key (a string), the CSV's first column.
        poll_interval_seconds / max_polls: how often and how many times the workflow asks
            DynamoDB whether the export has finished before it gives up and alerts.
        converter_memory_mib / converter_timeout_seconds: the converting Lambda function.
    """

    schedule_expression: str
    partition_key: str
    poll_interval_seconds: int
    max_polls: int
    converter_memory_mib: int
    converter_timeout_seconds: int

    @property
    def polling_seconds(self) -> int:
        """The longest the workflow waits for an export."""
        return self.poll_interval_seconds * self.max_polls


FIELDS = {
    "schedule_expression": Field(
        scheduler_expression,
        "rate(7 days)",
        "cron(0 3 ? * MON *)",
        "When Scheduler starts the export (UTC); weekly by default",
    ),
    "partition_key": Field(
        attribute_name, "customer_id", "order_id", "The table's partition key (string)"
    ),
    "poll_interval_seconds": Field(
        integer(10, 86400), 60, "120", "Wait between two DescribeExport calls"
    ),
    "max_polls": Field(
        integer(1, 100000),
        120,
        "240",
        "DescribeExport calls before the workflow gives up and alerts",
    ),
    "converter_memory_mib": Field(
        integer(*LAMBDA_MEMORY_MIB, "Lambda's memory range"),
        1024,
        "2048",
        "Memory of the converter (it holds one export in memory)",
    ),
    "converter_timeout_seconds": Field(
        integer(10, LAMBDA_MAX_TIMEOUT_SECONDS, "Lambda runs at most 15 minutes"),
        600,
        "900",
        "Time limit of the converter",
    ),
}


def check(settings: EtlExportSettings, prefix: str) -> list[Problem]:
    """The polling and the conversion fit in one standard workflow run."""
    longest = settings.polling_seconds + settings.converter_timeout_seconds
    if longest <= MAX_EXECUTION_SECONDS:
        return []
    return [
        Problem(
            key=prefix + "max_polls",
            received=settings.max_polls,
            allowed=(
                f"{prefix}max_polls x {prefix}poll_interval_seconds plus the converter's "
                f"time limit at most {MAX_EXECUTION_SECONDS} s: a standard workflow runs at "
                f"most one year (now {longest} s)"
            ),
            fix="poll less often or fewer times",
        )
    ]


SETTINGS = SettingsSpec(cls=EtlExportSettings, fields=FIELDS, check=check)
