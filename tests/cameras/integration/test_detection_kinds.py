"""The detection kinds' rules are readable through both doors of the running cameras service by every role
with a token (camera_gateway included), exactly as the `detection_kinds` table holds them and as the
cameras README's table says; without a token, nothing."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import asyncpg
import grpc
import httpx
import pytest

from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.cameras.v1 import violations_pb2 as pb
from d07.cameras.v1 import violations_pb2_grpc as pb_grpc
from d07.platform.auth import ROLES, UNIT_OFFICER
from tests.support.services import Platform

README = Path(__file__).resolve().parents[3] / "services" / "cameras" / "README.md"
Row = tuple[str, str, float, str, int]


def token_kw(role: str) -> dict[str, str]:
    return {"unit_id": str(uuid.uuid4())} if role == UNIT_OFFICER else {}


async def table(platform: Platform) -> list[Row]:
    conn = await asyncpg.connect(platform.database_url)
    try:
        rows = await conn.fetch(
            "SELECT kind, label, open_threshold, priority, reaction_minutes"
            " FROM cameras.detection_kinds ORDER BY kind"
        )
    finally:
        await conn.close()
    return [(r[0], r[1], round(r[2], 6), r[3], r[4]) for r in rows]


def readme_rows() -> list[Row]:
    text = README.read_text()
    section = text.split("| kind | label | open_threshold | priority | reaction_minutes |", 1)[1]
    rows = []
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            break
        kind, label, threshold, priority, minutes = (c.strip() for c in line.strip("|").split("|"))
        rows.append((kind, label, float(threshold), priority, int(minutes)))
    return rows


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_every_role_reads_the_kinds_over_grpc_and_http(platform: Platform, role: str) -> None:
    expected = await table(platform)
    assert len(expected) >= 7
    async with grpc.aio.insecure_channel(platform["cameras"].target) as ch:
        reply = await pb_grpc.ViolationsServiceStub(ch).ListDetectionKinds(
            pb.ListDetectionKindsRequest(), metadata=platform.metadata(role, **token_kw(role)), timeout=10
        )
    over_grpc = [
        (
            k.kind,
            k.label,
            round(k.open_threshold, 6),
            events_pb.ViolationPriority.Name(k.priority).removeprefix("VIOLATION_PRIORITY_").lower(),
            k.reaction_minutes,
        )
        for k in reply.kinds
    ]
    assert over_grpc == expected
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=10) as http:
        r = await http.get("/v1/detection-kinds", headers=platform.headers(role, **token_kw(role)))
    assert r.status_code == 200, r.text
    over_http = [
        (k["kind"], k["label"], k["open_threshold"], k["priority"], k["reaction_minutes"])
        for k in r.json()["items"]
    ]
    assert over_http == expected


async def test_the_readme_table_is_the_table(platform: Platform) -> None:
    assert readme_rows() == await table(platform)
    assert re.search(
        r"`ListDetectionKinds` \| `GET /v1/detection-kinds` \| every authenticated role", README.read_text()
    )


async def test_no_token_reads_nothing(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=10) as http:
        r = await http.get("/v1/detection-kinds")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    async with grpc.aio.insecure_channel(platform["cameras"].target) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await pb_grpc.ViolationsServiceStub(ch).ListDetectionKinds(
                pb.ListDetectionKindsRequest(), timeout=10
            )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
