"""Divisions from the versioned data file, and units placed in them (the registry as a process)."""

from __future__ import annotations

import json
import uuid

import grpc
import httpx
import pytest

from d07.platform.grpc import status_details
from d07.registry.v1 import registry_pb2, registry_pb2_grpc
from registry.divisions.service import DATA_FILE
from tests.support.services import Platform


def test_divisions_come_from_the_data_file_over_both_doors(platform: Platform) -> None:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    with grpc.insecure_channel(platform["registry"].target) as ch:
        reply = registry_pb2_grpc.RegistryServiceStub(ch).ListDivisions(
            registry_pb2.ListDivisionsRequest(),
            metadata=[
                ("authorization", f"Bearer {platform.token('unit_officer', unit_id=str(uuid.uuid4()))}")
            ],
            timeout=5,
        )
    assert [(d.code, d.name) for d in reply.districts] == [(d["code"], d["name"]) for d in data["districts"]]
    assert sum(len(d.communes) for d in reply.districts) == sum(len(d["communes"]) for d in data["districts"])
    r = httpx.get(f"{platform['registry'].url}/v1/divisions", headers=platform.headers("auditor"))
    assert r.status_code == 200
    first = r.json()[0]
    assert first["name"] == "Thành phố Sơn Lâm"
    assert first["communes"][0]["name"] == "Phường Đức Thịnh"


@pytest.mark.parametrize(
    ("district", "commune", "field"),
    [("999", "", "district_code"), ("001", "99999", "commune_code"), ("001", "00009", "commune_code")],
)
async def test_a_unit_outside_the_province_is_invalid_with_the_field_named(
    platform: Platform, district: str, commune: str, field: str
) -> None:
    request = registry_pb2.CreateUnitRequest(
        code=f"U-{uuid.uuid4().hex[:8].upper()}", name="Trường THCS Kim Đồng",
        kind=registry_pb2.UNIT_KIND_SCHOOL, district_code=district, commune_code=commune,
    )  # fmt: skip
    async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await registry_pb2_grpc.RegistryServiceStub(channel).CreateUnit(
                request, metadata=[("authorization", f"Bearer {platform.token('admin')}")], timeout=5
            )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v["field"] for v in status_details(err.value)["field_violations"]] == [field]
