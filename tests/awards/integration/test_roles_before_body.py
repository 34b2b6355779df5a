"""Roles before the body (issue 13, item 4): a role that may not call a write route (awards) gets 403 for
a malformed body, not 422 (the route's `allowed(...)` dependency repeats the handler's role list and runs
before FastAPI reports the body's errors; a body that is not JSON at all is checked in the 422 handler)."""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest

from d07.awards.v1 import awards_pb2, awards_pb2_grpc
from tests.support.services import Platform

ROUTE = "/v1/award-rounds"
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
    async with httpx.AsyncClient(base_url=platform["awards"].url, timeout=30) as http:
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


async def test_a_camera_gateway_reads_no_round_nor_awards_on_either_door(platform: Platform) -> None:
    """Issue 13: camera_gateway (a machine sending detections) read rounds and decided awards; the roles are
    the handlers' READERS now, on both doors (the role comes before the round is looked up)."""
    round_id = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=platform["awards"].url, timeout=30) as http:
        for path in (f"/v1/award-rounds/{round_id}", f"/v1/award-rounds/{round_id}/awards"):
            r = await http.get(path, headers=platform.headers("camera_gateway"))
            assert (r.status_code, r.json()["code"]) == (403, "role_required"), path
            r = await http.get(path, headers=platform.headers("auditor"))
            assert r.status_code in (200, 404), (path, r.text)  # a reader gets past the role
    async with grpc.aio.insecure_channel(platform["awards"].target) as channel:
        stub = awards_pb2_grpc.AwardsServiceStub(channel)
        md = platform.metadata("camera_gateway")
        for call, request in (
            (stub.GetRound, awards_pb2.GetRoundRequest(id=round_id)),
            (stub.ListAwards, awards_pb2.ListAwardsRequest(round_id=round_id)),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(request, metadata=md, timeout=10)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
