"""The pattern's SQL, kept as files under ``runtime/`` and filled in with ``{{name}}`` values.

The stack renders the deploy-time statements (external schema, streaming view) into the
custom resource that runs them through the Redshift Data API; the smoke check renders the
others (refresh, count, ``CREATE MODEL``, ``SHOW MODEL``). A value may not contain a quote
or a semicolon, so a rendered file is still the one statement it was written as.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "runtime"

#: What the stack runs when it is created or updated, in this order.
DEPLOY_STATEMENTS = (
    "01_stream_schema.sql",
    "02_drop_streaming_view.sql",
    "03_streaming_view.sql",
)
REFRESH_VIEW = "refresh_view.sql"
COUNT_RUN = "count_run.sql"
CREATE_MODEL = "create_model.sql"
SHOW_MODEL = "show_model.sql"

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_UNSAFE = re.compile(r"['\";]")


class SqlError(ValueError):
    """A file's placeholders and the values given do not match, or a value is unsafe."""


def read(name: str) -> str:
    """The text of ``runtime/<name>``."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


def placeholders(text: str) -> set[str]:
    """The ``{{name}}`` placeholders of ``text``."""
    return set(_PLACEHOLDER.findall(text))


def render(name: str, values: Mapping[str, str]) -> str:
    """``runtime/<name>`` with every placeholder replaced and comments dropped.

    Values the file has no placeholder for are ignored, so one set of values serves every
    file. Raises :class:`SqlError` when a placeholder has no value or a value it uses holds a
    quote or semicolon. CDK tokens (unresolved ARNs and names) pass: they
    are ``${Token[...]}`` text until synthesis.
    """
    text = read(name)
    wanted = placeholders(text)
    missing = sorted(wanted - set(values))
    if missing:
        raise SqlError(f"{name}: no value for {', '.join(missing)}")
    for key in sorted(wanted):
        value = values[key]
        if _UNSAFE.search(value):
            raise SqlError(f"{name}: value of {key} {value!r} holds a quote or semicolon")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], body).strip()
