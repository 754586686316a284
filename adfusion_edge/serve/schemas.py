"""Request and response shapes of the HTTP API (pydantic, so FastAPI documents them in OpenAPI) and
the request limits.

Requests are validated strictly: unknown fields and wrong types are errors (a typo such as
``"txt"`` would otherwise silently send the ad down the slow OCR path).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adfusion_edge.report import AdReport

API_SCHEMA_VERSION = 1
MAX_BODY_BYTES = 8 * 1024 * 1024  # default request-body limit (413 above it); --max-body-mb changes it
MAX_BATCH_ITEMS = 256  # creatives in one /v1/analyze/batch call
MAX_TEXT_CHARS = 10_000
MAX_DEADLINE_MS = 60_000.0


class AnalyzeRequest(BaseModel):
    """One creative. Only ``image`` is required."""

    model_config = ConfigDict(extra="forbid", strict=True)

    image: str = Field(description="The image file (JPEG, PNG, WebP, ...) in standard base64", min_length=1)
    text: str | None = Field(None, max_length=MAX_TEXT_CHARS,
                             description="The ad's printed text; absent = read it with OCR (slow path)")
    creative_id: str | None = Field(None, min_length=1, max_length=256,
                                    description="Caller's id; also the cache key (with the text)")
    deadline_ms: float | None = Field(None, gt=0, le=MAX_DEADLINE_MS,
                                      description="Answer within this many ms of arrival, else get 429/504 "
                                                  "at once; default: the server's per-lane default")


class BatchRequest(BaseModel):
    """Many creatives in one call; each item is validated (and may fail) on its own."""

    model_config = ConfigDict(extra="forbid", strict=True)

    items: list[Any] = Field(min_length=1, max_length=MAX_BATCH_ITEMS,
                                        description="AnalyzeRequest objects")


class BundleInfo(BaseModel):
    id: str = Field(description="Short id: the first 16 hex digits of sha256")
    sha256: str = Field(description="sha256 of the bundle's bundle.json (which lists every file's sha256)")
    precision: str
    path: str


class AnalyzeResponse(BaseModel):
    """The answer for one creative (also each ``ok`` item of a batch answer)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = API_SCHEMA_VERSION
    ok: bool = True
    creative_id: str | None
    cached: bool
    bundle: BundleInfo
    report: AdReport


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: a machine-readable code and a message naming what was wrong."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = API_SCHEMA_VERSION
    ok: bool = False
    error: str = Field(description="e.g. invalid_request, InvalidImageError, queue_full, deadline_unmeetable")
    message: str
    creative_id: str | None = None
    index: int | None = Field(None, description="Position in a batch request")


class BatchResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = API_SCHEMA_VERSION
    results: list[AnalyzeResponse | ErrorResponse]


def response_json_schema() -> dict[str, Any]:
    """JSON Schema of a successful ``/v1/analyze`` answer (served at ``/v1/schema``)."""
    return AnalyzeResponse.model_json_schema(mode="serialization")


