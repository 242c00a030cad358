"""Job names: the limits of the API, a generator of valid unique names and their check."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ml_refarch.settings import Problem
from ml_refarch.training.spec import is_token

#: Name limits of CreateTrainingJob and CreateHyperParameterTuningJob.
TRAINING_JOB_NAME_MAX_LENGTH = 63
TUNING_JOB_NAME_MAX_LENGTH = 32

_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
_NOT_IN_JOB_NAME = re.compile(r"[^a-zA-Z0-9-]+")


def name_problems(key: str, name: Any, max_length: int) -> list[Problem]:
    """The problem of a job name (none for a valid name or a CDK token)."""
    if is_token(name) or (
        isinstance(name, str) and len(name) <= max_length and _JOB_NAME.fullmatch(name)
    ):
        return []
    return [
        Problem(
            key=key,
            received=name,
            allowed=(
                f"at most {max_length} letters, digits and hyphens, starting and ending "
                "with a letter or digit"
            ),
            fix=f"generate one with job_name(prefix, max_length={max_length})",
        )
    ]


def job_name(
    prefix: str, now: datetime | None = None, *, max_length: int = TRAINING_JOB_NAME_MAX_LENGTH
) -> str:
    """``<prefix>-<UTC yyyymmdd-HHMMSS-mmm>``: a valid job name, unique to the millisecond.

    Characters a job name cannot hold become hyphens and the prefix is shortened to fit
    ``max_length`` (63 for training jobs, 32 for tuning jobs). A naive ``now`` is taken as UTC.
    """
    moment = datetime.now(UTC) if now is None else now
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    stamp = moment.strftime("%Y%m%d-%H%M%S-") + f"{moment.microsecond // 1000:03d}"
    if max_length < len(stamp):
        raise ValueError(f"max_length must be at least {len(stamp)}, got {max_length}")
    room = max(max_length - len(stamp) - 1, 0)
    cleaned = _NOT_IN_JOB_NAME.sub("-", prefix).strip("-")[:room].rstrip("-")
    return f"{cleaned}-{stamp}" if cleaned else stamp
