"""Cursor pagination: opaque page tokens over keyset positions, and page sizes within bounds.

A token is base64url JSON of the last row's sort key plus a fingerprint of the query's filters, so a token
given with other filters is refused instead of silently returning the wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from d07.platform.errors import FieldProblem, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size(
    requested: int | None, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE
) -> int:
    """0 or None means the default; above the maximum is capped; negative is an error."""
    if requested is None or requested == 0:
        return default
    if requested < 0:
        raise InvalidArgument(
            "page_size must not be negative", code="invalid_page_size",
            fields=[FieldProblem("page_size", "0 (the default) or more")],
        )  # fmt: skip
    return min(requested, maximum)


def _fingerprint(filters: dict[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(position: list[Any], *, filters: dict[str, Any]) -> str:
    body = json.dumps({"p": position, "f": _fingerprint(filters)}, default=str, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(token: str, *, filters: dict[str, Any]) -> list[Any] | None:
    """The position after which the next page starts; None for the first page."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position, fingerprint = body["p"], body["f"]
        if not isinstance(position, list):
            raise ValueError("position")
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(
            "page_token is not a token this API gave", code="invalid_page_token",
            fields=[FieldProblem("page_token", "use next_page_token from the previous page")],
        ) from exc  # fmt: skip
    if fingerprint != _fingerprint(filters):
        raise InvalidArgument(
            "page_token belongs to a query with other filters", code="page_token_mismatch",
            fields=[FieldProblem("page_token", "keep the filters of the first page")],
        )  # fmt: skip
    return position
