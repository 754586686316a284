"""Turn a request body (JSON or multipart) into validated creatives, or a typed 4xx.

Everything a client can get wrong ends here as :class:`BadRequest` with the HTTP status and a
message naming the field: missing image, bad base64, wrong type, unknown field, bad form value.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from adfusion_edge.serve.schemas import AnalyzeRequest, BatchRequest

FORM_FIELDS = ("image", "text", "creative_id", "deadline_ms")


class BadRequest(Exception):
    """A request the server cannot read; ``status`` is 400, 413, 415 or 422."""

    def __init__(self, status: int, error: str, message: str):
        self.status, self.error, self.message = status, error, message
        super().__init__(message)


@dataclass(frozen=True)
class Creative:
    image: bytes
    text: str | None
    creative_id: str | None
    deadline_ms: float | None


def _explain(e: ValidationError, prefix: str = "") -> str:
    parts = []
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{prefix}{where}: {err['msg']}")
    return "; ".join(parts)


def _b64(data: str, field: str = "image") -> bytes:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadRequest(400, "invalid_base64", f"{field}: not valid base64 ({e})") from None
    if not raw:
        raise BadRequest(422, "invalid_request", f"{field}: empty image")
    return raw


def creative_from_obj(obj: Any, prefix: str = "") -> Creative:
    """One JSON object -> Creative (raises BadRequest)."""
    try:
        req = AnalyzeRequest.model_validate(obj)
    except ValidationError as e:
        raise BadRequest(422, "invalid_request", _explain(e, prefix)) from None
    return Creative(_b64(req.image, prefix + "image"), req.text, req.creative_id, req.deadline_ms)


def json_body(body: bytes) -> Any:
    if not body:
        raise BadRequest(400, "invalid_json", "empty body: send a JSON object with at least an 'image' field")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadRequest(400, "invalid_json", f"body is not valid JSON ({e})") from None


def batch_from_obj(obj: Any) -> tuple[list[dict], float | None]:
    """The item objects of a batch call (each validated later, on its own) and its deadline."""
    deadline = None
    if isinstance(obj, dict) and "deadline_ms" in obj:
        obj = dict(obj)
        deadline = obj.pop("deadline_ms")
        if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not 0 < deadline <= 60_000:
            raise BadRequest(422, "invalid_request", f"deadline_ms: a number in (0, 60000] expected, got {deadline!r}")
    try:
        req = BatchRequest.model_validate(obj)
    except ValidationError as e:
        raise BadRequest(422, "invalid_request", _explain(e)) from None
    return req.items, None if deadline is None else float(deadline)


async def creative_from_form(form) -> Creative:
    """A multipart form (starlette FormData) -> Creative: the file in ``image``, the rest as fields."""
    unknown = sorted(set(form.keys()) - set(FORM_FIELDS))
    if unknown:
        raise BadRequest(422, "invalid_request", f"unknown form fields: {', '.join(unknown)} "
                                                 f"(allowed: {', '.join(FORM_FIELDS)})")
    for name in FORM_FIELDS:
        if len(form.getlist(name)) > 1:
            raise BadRequest(422, "invalid_request", f"{name}: given more than once")
    upload = form.get("image")
    if upload is None:
        raise BadRequest(422, "invalid_request", "image: Field required (a file upload in the 'image' field)")
    if isinstance(upload, str):
        raise BadRequest(422, "invalid_request", "image: must be a file upload, not a text field")
    image = await upload.read()
    if not image:
        raise BadRequest(422, "invalid_request", "image: empty file")
    values: dict[str, Any] = {}
    for name in ("text", "creative_id", "deadline_ms"):
        v = form.get(name)
        if v is None:
            continue
        if not isinstance(v, str):
            raise BadRequest(422, "invalid_request", f"{name}: must be a text field, not a file")
        values[name] = v
    if "deadline_ms" in values:
        try:
            values["deadline_ms"] = float(values["deadline_ms"])
        except ValueError:
            raise BadRequest(422, "invalid_request",
                             f"deadline_ms: not a number: {values['deadline_ms']!r}") from None
    try:
        req = AnalyzeRequest.model_validate({"image": "x", **values})
    except ValidationError as e:
        raise BadRequest(422, "invalid_request", _explain(e)) from None
    return Creative(image, req.text, req.creative_id, req.deadline_ms)
