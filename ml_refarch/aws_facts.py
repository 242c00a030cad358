"""Facts about AWS services that several parts of ml-refarch rely on.

The bottom layer beside :mod:`ml_refarch.cfn`: stacks, constructs, compliance rules, cost
and the training helpers read these facts here; each names the AWS page it comes from.
This module imports nothing from the rest of the project.
"""

from __future__ import annotations

import math
import re
from fnmatch import fnmatchcase
from typing import Any

# --------------------------------------------------------------------------------------
# Instance types

#: Instance families (``ml.<family>.<size>``) that come with local NVMe instance storage.
#: Sources: the SageMaker API reference for CreateEndpointConfig (KmsKeyId: "Certain
#: Nitro-based instances include local storage ... You can't request a KmsKeyId when using an
#: instance type with local storage"), and the EC2 user guide's "Instance store volumes" list.
#: Patterns use fnmatch syntax: a family name ending in "d", "dn" or "de" (c5d, m5d, r5d,
#: c6id, m6id, r6id, g4dn, p3dn, p4d, p4de, ...) always has instance storage; the rest are
#: accelerated families whose names do not say so.
LOCAL_STORAGE_FAMILIES: tuple[str, ...] = (
    "*d",
    "*dn",
    "*de",
    "g5",
    "g6",
    "g6e",
    "p5",
    "p5e",
    "p5en",
    "trn1",
    "trn1n",
    "trn2",
)


def has_local_storage(instance_type: Any) -> bool:
    """Whether an ``ml.<family>.<size>`` instance type has local NVMe instance storage."""
    if not isinstance(instance_type, str):
        return False
    parts = instance_type.strip().lower().split(".")
    if len(parts) != 3 or parts[0] != "ml":
        return False
    family = parts[1]
    return any(fnmatchcase(family, pattern) for pattern in LOCAL_STORAGE_FAMILIES)


# --------------------------------------------------------------------------------------
# SageMaker Model Monitor schedules

#: The cron forms a Model Monitor schedule accepts (it runs at most hourly).
MODEL_MONITOR_SCHEDULE_FORMS = (
    "'cron(0 * ? * * *)' (hourly), 'cron(0 H ? * * *)' (daily at hour H UTC) or "
    "'cron(0 H/N ? * * *)' (every N hours from hour H), with H 0-23 and N 1-24"
)


_MONITOR_CRON = re.compile(r"cron\(0 (\*|(\d{1,2})(?:/(\d{1,2}))?) \? \* \* \*\)")


def monitoring_runs_per_day(expression: str) -> float:
    """Runs a day of a Model Monitor cron expression (see :data:`MODEL_MONITOR_SCHEDULE_FORMS`).

    Raises:
        ValueError: for any other expression.
    """
    match = _MONITOR_CRON.fullmatch(expression.strip()) if isinstance(expression, str) else None
    if match is None:
        raise ValueError(f"not a Model Monitor schedule: {expression!r}")
    if match.group(1) == "*":
        return 24.0
    start = int(match.group(2))
    step = int(match.group(3)) if match.group(3) is not None else None
    if start > 23 or (step is not None and not 1 <= step <= 24):
        raise ValueError(f"not a Model Monitor schedule: {expression!r}")
    if step is None:
        return 1.0
    # Model Monitor reads H/N as every N hours starting at H (17/12: 17:00 and 05:00).
    return float(math.ceil(24 / step))


# --------------------------------------------------------------------------------------
# SageMaker hosting limits

#: Memory sizes (MemorySizeInMB) a serverless endpoint accepts: 1 GB to 6 GB in 1 GB steps.
#: Source: the SageMaker API reference, ProductionVariantServerlessConfig
#: (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html).
SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
#: The most concurrent invocations one serverless endpoint may serve (MaxConcurrency, same page).
SERVERLESS_MAX_CONCURRENCY = 200

#: The smallest and largest serial inference pipelines SageMaker accepts (notes, "Inference
#: pipelines"; https://docs.aws.amazon.com/sagemaker/latest/dg/inference-pipelines.html:
#: "a linear sequence of two to fifteen containers").
PIPELINE_MIN_CONTAINERS = 2
PIPELINE_MAX_CONTAINERS = 15
