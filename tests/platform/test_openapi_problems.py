"""Every route of every service documents the errors the platform can answer, as they are served:
`application/problem+json` with the `Problem` schema (issue 13 item 7: 422 was documented as
application/json, and 400/404/409 were mostly missing)."""

from __future__ import annotations

import httpx
import pytest

from d07.platform.http import ERRORS_ANYWHERE, ERRORS_AUTHENTICATED, PROBLEM_MEDIA_TYPE
from tests.support.services import SERVICES, Platform

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_documents_the_platforms_errors_as_problem_json(platform: Platform, service: str) -> None:
    document = httpx.get(f"{platform[service].url}/openapi.json", timeout=30).json()
    assert {"type", "title", "status", "detail", "code", "request_id"} <= set(
        document["components"]["schemas"]["Problem"]["properties"]
    )
    operations = 0
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            operations += 1
            where = f"{service} {method.upper()} {path}"
            responses = operation["responses"]
            wanted = set(ERRORS_ANYWHERE) | (
                set(ERRORS_AUTHENTICATED) if operation.get("security") else set()
            )
            documented = {int(code) for code in responses if code[:1] in "45"}
            assert wanted <= documented, (where, sorted(wanted - documented))
            for code in documented:
                assert responses[str(code)]["content"] == {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}, (
                    where,
                    code,
                )
    assert operations >= 3  # every service has routes: an empty document would prove nothing


async def test_a_documented_422_is_served_as_documented(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            f"{platform['registry'].url}/v1/units", json={"code": 5}, headers=platform.headers("admin")
        )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert r.json()["fields"]
