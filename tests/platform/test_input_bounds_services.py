"""The inputs of issue 13 item 3 against the real services: each gets a 4xx (problem+json) or
INVALID_ARGUMENT, never a 5xx. The edge is the platform's (`d07.platform.bounds`), so one check per door
covers every service; these are the reproductions that used to give 500 / INTERNAL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest

from d07.common.v1 import common_pb2
from d07.platform.grpc import status_details
from d07.registry.v1 import forces_pb2, registry_pb2
from d07.registry.v1 import forces_pb2_grpc as forces_grpc
from d07.registry.v1 import registry_pb2_grpc as registry_grpc
from tests.support.services import Platform

PROBLEM = "application/problem+json"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def refused(r: httpx.Response, field: str | None = None) -> dict[str, object]:
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, object] = r.json()
    if field is not None:
        assert field in [f["field"] for f in body.get("fields") or []], body  # type: ignore[union-attr,index]
    return body


async def a_unit(http: httpx.AsyncClient, platform: Platform) -> str:
    r = await http.post(
        f"{platform['registry'].url}/v1/units",
        json={"code": f"U-{uuid.uuid4().hex[:10].upper()}", "name": "Trường THPT Bounds", "kind": "school",
              "district_code": "001"},
        headers=platform.headers("admin"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_nul_in_a_query_parameter_is_400_naming_it(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    r = await http.get(f"{platform['registry'].url}/v1/units?q=a%00b", headers=platform.headers("admin"))
    body = refused(r, "query.q")
    assert r.status_code == 400
    assert body["code"] == "invalid_text"


async def test_a_nul_in_a_path_parameter_is_400(http: httpx.AsyncClient, platform: Platform) -> None:
    r = await http.get(f"{platform['registry'].url}/v1/units/a%00b", headers=platform.headers("admin"))
    assert refused(r, "path")["code"] == "invalid_text"


@pytest.mark.parametrize("name", ["Nguyễn\\u0000Văn An", "Nguyễn \\ud800 An"], ids=["nul", "lone-surrogate"])
async def test_bad_text_in_a_guard_name_is_400_naming_the_field(
    http: httpx.AsyncClient, platform: Platform, name: str
) -> None:
    unit = await a_unit(http, platform)
    raw = '{"unit_id": "%s", "full_name": "%s", "birth_year": 1985}' % (unit, name)  # noqa: UP031
    r = await http.post(
        f"{platform['registry'].url}/v1/guards",
        content=raw.encode(),
        headers={**platform.headers("admin"), "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert refused(r, "body.full_name")["code"] == "invalid_text"


async def test_a_nul_over_grpc_is_invalid_argument_naming_the_field(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    unit = await a_unit(http, platform)
    async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
        stub = registry_grpc.RegistryServiceStub(channel)
        forces = forces_grpc.ForcesServiceStub(channel)
        md = platform.metadata("admin")
        calls = [
            (stub.ListUnits, registry_pb2.ListUnitsRequest(query="a\x00b"), "query"),
            (forces.ListGuards, forces_pb2.ListGuardsRequest(q="a\x00b"), "q"),
            (
                forces.RegisterGuard,
                forces_pb2.RegisterGuardRequest(unit_id=unit, full_name="Nguyễn\x00An", birth_year=1985),
                "full_name",
            ),
            (
                stub.ListUnits,
                registry_pb2.ListUnitsRequest(page=common_pb2.PageRequest(page_size=5, page_token="x\x00")),  # noqa: S106,
                "page.page_token",
            ),
        ]
        for method, request, field in calls:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await method(request, metadata=md, timeout=10)
            assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT, caught.value
            details = status_details(caught.value)
            assert details["reason"] == "invalid_text"
            assert [v["field"] for v in details["field_violations"]] == [field]


async def test_a_nul_without_a_token_is_still_unauthenticated_over_grpc(platform: Platform) -> None:
    async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
        stub = registry_grpc.RegistryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListUnits(registry_pb2.ListUnitsRequest(query="a\x00b"), timeout=10)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_numbers_past_their_column_are_400(http: httpx.AsyncClient, platform: Platform) -> None:
    r = await http.get(
        f"{platform['assessment'].url}/v1/rounds?year=2147483648", headers=platform.headers("admin")
    )
    assert r.status_code == 400
    assert refused(r)["code"] == "out_of_range"
    r = await http.get(
        f"{platform['cameras'].url}/v1/violation-activity?cursor=9223372036854775808",
        headers=platform.headers("dic_operator"),
    )
    assert r.status_code == 400
    assert refused(r)["code"] == "out_of_range"


async def test_an_award_round_with_min_passed_years_past_int32_is_400(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    today = datetime.now(UTC).date()
    body = {
        "title": "Khen thưởng năm",
        "period_start": "2014-08-15",
        "period_end": "2019-08-29",
        "nominations_open": today.isoformat(),
        "nominations_close": (today + timedelta(days=30)).isoformat(),
        "min_passed_years": 2**31,
        "council_members": ["council-a", "council-b", "council-c"],
    }
    r = await http.post(
        f"{platform['awards'].url}/v1/award-rounds", json=body, headers=platform.headers("admin")
    )
    assert r.status_code == 400
    assert refused(r)["code"] == "out_of_range"


async def test_year_one_dates_are_400_naming_the_parameter(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    camera = uuid.uuid4()
    r = await http.get(
        f"{platform['cameras'].url}/v1/cameras/{camera}/uptime?from=0001-01-01&to=0001-01-01",
        headers=platform.headers("admin"),
    )
    body = refused(r, "query.from")
    assert r.status_code == 400
    assert body["code"] == "date_out_of_range"


async def test_a_review_period_into_the_year_9000_is_400(http: httpx.AsyncClient, platform: Platform) -> None:
    r = await http.get(
        f"{platform['reporting'].url}/v1/reports/review?from=1900-01-01&to=9000-12-31",
        headers=platform.headers("admin"),
    )
    assert r.status_code == 400
    assert refused(r, "query.to")["code"] == "date_out_of_range"
    # The widest period inside the bounds has a previous period the arithmetic and the database can take.
    r = await http.get(
        f"{platform['reporting'].url}/v1/reports/review?from=1900-01-01&to=2999-12-31",
        headers=platform.headers("admin"),
    )
    assert r.status_code < 500, r.text
