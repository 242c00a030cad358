"""What the inference pipeline's two scikit-learn containers share: CSV in, client errors out.

Pattern ``inference-pipeline`` (notes section "Inference pipelines"). This file is packed
next to ``preprocess.py`` and ``postprocess.py`` under ``code/`` in their model artifacts,
so it must run on the container's Python (3.9) with the standard library only.

Why bad input is a value and not an exception: the scikit-learn container (1.2-1) serves a
single model with the ``sagemaker_containers`` Flask worker, which wraps ``input_fn``,
``predict_fn`` and ``output_fn`` so that *any* exception they raise becomes a generic
``ClientError`` and a 500 response, even ``UnsupportedFormatError``. A handler that wants
a 4xx must *return* a response with that status. So ``input_fn`` returns a
:class:`BadRequest` for a bad body, ``predict_fn`` passes it through, and ``output_fn``
turns it into :func:`error_response`:

- in the scikit-learn container's single-model server: a ``worker.Response`` with the
  status (``sagemaker_containers`` is in the image);
- in a multi-model server (``SAGEMAKER_MULTI_MODEL`` set), where ``sagemaker_inference``
  maps exceptions to statuses: a raised ``GenericInferenceToolkitError`` with the status;
- anywhere else (unit tests, the repository's virtualenv): an :class:`ErrorResponse`.
"""

from __future__ import annotations

import json
import os

CSV = "text/csv"
JSON = "application/json"
#: The most row problems one error message lists.
MAX_PROBLEMS_LISTED = 5


class BadRequest:
    """A request the handler refuses, with the HTTP status and the reason to send back."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        self.message = message
        self.status_code = status_code

    def __repr__(self) -> str:
        return f"BadRequest({self.status_code}, {self.message!r})"


class ErrorResponse:
    """The error response outside any SageMaker container (what the unit tests read)."""

    def __init__(self, body: str, status_code: int, content_type: str) -> None:
        self.body = body
        self.status_code = status_code
        self.content_type = content_type


def media_type(header: str | None, default: str = CSV) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``; empty or ``*/*`` -> ``default``."""
    value = (header or "").split(";")[0].strip().lower()
    return default if value in ("", "*/*") else value


def csv_rows(body: bytes | str) -> list[list[str]]:
    """The non-blank lines of a CSV body, each split on commas with spaces trimmed."""
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else str(body)
    return [
        [cell.strip() for cell in line.split(",")] for line in text.splitlines() if line.strip()
    ]


def read_csv_request(request_body, request_content_type):
    """The rows of a ``text/csv`` request, or the :class:`BadRequest` to answer instead.

    Both handler modules use it as their ``input_fn``.
    """
    content_type = media_type(request_content_type)
    if content_type != CSV:
        return unsupported_content_type(content_type)
    try:
        return csv_rows(request_body)
    except UnicodeDecodeError:
        return BadRequest("the body is not UTF-8 text")


def problems_message(what: str, problems: list[str]) -> str:
    """One message naming the first few problems and how many there were."""
    shown = "; ".join(problems[:MAX_PROBLEMS_LISTED])
    more = len(problems) - MAX_PROBLEMS_LISTED
    return f"{what}: {shown}" + (f"; and {more} more" if more > 0 else "")


def unsupported_content_type(content_type: str, supported: str = CSV) -> BadRequest:
    return BadRequest(f"content type {content_type!r} is not supported; send {supported} rows", 415)


def error_response(error: BadRequest):
    """The response (or, in a multi-model server, the exception) that carries ``error``."""
    body = json.dumps({"error": error.message, "status": error.status_code})
    if os.environ.get("SAGEMAKER_MULTI_MODEL"):
        try:
            from sagemaker_inference.errors import GenericInferenceToolkitError
        except ImportError:
            pass
        else:
            raise GenericInferenceToolkitError(error.status_code, error.message, body)
    try:
        from sagemaker_containers.beta.framework import worker
    except ImportError:
        return ErrorResponse(body, error.status_code, JSON)
    return worker.Response(response=body, status=error.status_code, mimetype=JSON)
