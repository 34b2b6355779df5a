"""Roles before the body (issue 13, item 4): a role that may not call a write route (cameras) gets 403 for
a malformed body, not 422 (the route's `allowed(...)` dependency repeats the handler's role list and runs
before FastAPI reports the body's errors; a body that is not JSON at all is checked in the 422 handler)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.services import Platform

ROUTE = "/v1/cameras"
FORBIDDEN = "police"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"title": 5, "code": []}', "application/json"),
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
    ],
)
async def test_a_forbidden_role_with_a_malformed_body_gets_403_and_an_allowed_one_422(
    platform: Platform, content: bytes, content_type: str
) -> None:
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=30) as http:
        forbidden = await http.post(
            ROUTE, content=content, headers={**platform.headers(FORBIDDEN), "Content-Type": content_type}
        )
        assert forbidden.status_code == 403, forbidden.text
        assert forbidden.headers["content-type"] == "application/problem+json"
        assert forbidden.json()["code"] == "role_required"
        anonymous = await http.post(ROUTE, content=content, headers={"Content-Type": content_type})
        assert anonymous.status_code == 401, anonymous.text
        allowed = await http.post(
            ROUTE, content=content, headers={**platform.headers("admin"), "Content-Type": content_type}
        )
        assert allowed.status_code == 422, allowed.text
