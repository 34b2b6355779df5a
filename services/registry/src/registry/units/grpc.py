"""gRPC door of the registry: d07.registry.v1.RegistryService. Thin: messages in, handler, messages out."""

from __future__ import annotations

from typing import Any

import asyncpg
import grpc

from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.grpc import current_principal
from d07.registry.v1 import registry_pb2 as pb
from d07.registry.v1 import registry_pb2_grpc as pb_grpc
from registry.divisions import service as divisions
from registry.units import service as units
from registry.units.domain import ChangeKind, ChangeStatus, CreateUnit, UpdateUnit, unit_filter
from registry.units.messages import (
    KIND_FROM_PB,
    STATUS_FROM_PB,
    change_to_pb,
    date_from_pb,
    scope_rule_to_pb,
    sub_kind_to_pb,
    unit_to_pb,
)
from registry.units.service import parse_id

SERVICE_NAME = "d07.registry.v1.RegistryService"

# update_mask paths -> the fields they change (head and contact are messages of two fields each).
MASK_FIELDS = {
    "name": ("name",),
    "kind": ("kind",),
    "sub_kind": ("sub_kind",),
    "district_code": ("district_code",),
    "commune_code": ("commune_code",),
    "address": ("address",),
    "parent_unit_id": ("parent_unit_id",),
    "parent_name": ("parent_name",),
    "head": ("head_name", "head_title"),
    "head.name": ("head_name",),
    "head.title": ("head_title",),
    "contact": ("phone", "email"),
    "contact.phone": ("phone",),
    "contact.email": ("email",),
    "staff_count": ("staff_count",),
}


def _changes(request: pb.UpdateUnitRequest) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": request.name,
        "kind": KIND_FROM_PB.get(request.kind, ""),
        "sub_kind": request.sub_kind,
        "district_code": request.district_code,
        "commune_code": request.commune_code,
        "address": request.address,
        "parent_unit_id": request.parent_unit_id,
        "parent_name": request.parent_name,
        "head_name": request.head.name,
        "head_title": request.head.title,
        "phone": request.contact.phone,
        "email": request.contact.email,
        "staff_count": request.staff_count if request.HasField("staff_count") else None,
    }
    unknown = [p for p in request.update_mask.paths if p not in MASK_FIELDS]
    if unknown or not request.update_mask.paths:
        raise InvalidArgument(
            "update_mask names the fields to change", code="invalid_update_mask",
            fields=[FieldProblem("update_mask", f"unknown path {p!r}") for p in unknown]
            or [FieldProblem("update_mask", "at least one path")],
        )  # fmt: skip
    return {f: values[f] for path in request.update_mask.paths for f in MASK_FIELDS[path]}


class RegistryServicer(pb_grpc.RegistryServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def CreateUnit(
        self, request: pb.CreateUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateUnitResponse:
        cmd = CreateUnit(
            code=request.code,
            name=request.name,
            kind=KIND_FROM_PB.get(request.kind, ""),
            district_code=request.district_code,
            commune_code=request.commune_code,
            address=request.address,
            sub_kind=request.sub_kind,
            parent_unit_id=request.parent_unit_id,
            parent_name=request.parent_name,
            head_name=request.head.name,
            head_title=request.head.title,
            phone=request.contact.phone,
            email=request.contact.email,
            staff_count=request.staff_count if request.HasField("staff_count") else None,
        )
        unit = await units.create_unit(self.pool, cmd, principal=current_principal())
        return pb.CreateUnitResponse(unit=unit_to_pb(unit))

    async def GetUnit(
        self, request: pb.GetUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUnitResponse:
        unit = await units.get_unit(self.pool, request.id, principal=current_principal())
        return pb.GetUnitResponse(unit=unit_to_pb(unit))

    async def BatchGetUnits(
        self, request: pb.BatchGetUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetUnitsResponse:
        found, missing = await units.batch_get_units(
            self.pool, list(request.ids), principal=current_principal()
        )
        return pb.BatchGetUnitsResponse(units=[unit_to_pb(u) for u in found], missing_ids=missing)

    async def UpdateUnit(
        self, request: pb.UpdateUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateUnitResponse:
        cmd = UpdateUnit(parse_id(request.id), request.expected_version, _changes(request))
        unit = await units.update_unit(self.pool, cmd, principal=current_principal())
        return pb.UpdateUnitResponse(unit=unit_to_pb(unit))

    async def ListUnits(
        self, request: pb.ListUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUnitsResponse:
        where = unit_filter(
            kind=KIND_FROM_PB.get(request.kind, ""),
            sub_kind=request.sub_kind,
            district_code=request.district_code,
            commune_code=request.commune_code,
            status=STATUS_FROM_PB.get(request.status, ""),
            in_scope=request.in_scope if request.HasField("in_scope") else None,
            query=request.query,
        )
        found, token = await units.list_units(
            self.pool,
            where,
            size=request.page.page_size,
            token=request.page.page_token,
            principal=current_principal(),
        )
        response = pb.ListUnitsResponse(units=[unit_to_pb(u) for u in found])
        response.page.next_page_token = token
        return response

    async def MergeUnits(
        self, request: pb.MergeUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.MergeUnitsResponse:
        cmd = ChangeStatus(
            kind=ChangeKind.MERGE,
            from_ids=tuple(parse_id(i, f"source_ids[{n}]") for n, i in enumerate(request.source_ids)),
            to_ids=(parse_id(request.target_id, "target_id"),) if request.target_id else (),
            effective_on=date_from_pb(request.effective_on, "effective_on"),
            decision=request.decision,
            note=request.note,
        )
        change, ended = await units.change_status(self.pool, cmd, principal=current_principal())
        return pb.MergeUnitsResponse(change=change_to_pb(change), sources=[unit_to_pb(u) for u in ended])

    async def SplitUnit(
        self, request: pb.SplitUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.SplitUnitResponse:
        cmd = ChangeStatus(
            kind=ChangeKind.SPLIT,
            from_ids=(parse_id(request.id),),
            to_ids=tuple(parse_id(i, f"successor_ids[{n}]") for n, i in enumerate(request.successor_ids)),
            effective_on=date_from_pb(request.effective_on, "effective_on"),
            decision=request.decision,
            note=request.note,
            expected_version=request.expected_version,
        )
        change, ended = await units.change_status(self.pool, cmd, principal=current_principal())
        return pb.SplitUnitResponse(change=change_to_pb(change), unit=unit_to_pb(ended[0]))

    async def DissolveUnit(
        self, request: pb.DissolveUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.DissolveUnitResponse:
        cmd = ChangeStatus(
            kind=ChangeKind.DISSOLVE,
            from_ids=(parse_id(request.id),),
            to_ids=(),
            effective_on=date_from_pb(request.effective_on, "effective_on"),
            decision=request.decision,
            note=request.note,
            expected_version=request.expected_version,
        )
        change, ended = await units.change_status(self.pool, cmd, principal=current_principal())
        return pb.DissolveUnitResponse(change=change_to_pb(change), unit=unit_to_pb(ended[0]))

    async def ListUnitStatusChanges(
        self, request: pb.ListUnitStatusChangesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUnitStatusChangesResponse:
        changes = await units.list_status_changes(self.pool, request.id, principal=current_principal())
        return pb.ListUnitStatusChangesResponse(changes=[change_to_pb(c) for c in changes])

    async def ListUnitSubKinds(
        self, request: pb.ListUnitSubKindsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUnitSubKindsResponse:
        sub_kinds, rules = await units.list_sub_kinds(self.pool, principal=current_principal())
        return pb.ListUnitSubKindsResponse(
            sub_kinds=[sub_kind_to_pb(s) for s in sub_kinds], scope_rules=[scope_rule_to_pb(r) for r in rules]
        )

    async def ImportUnits(
        self, request: pb.ImportUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportUnitsResponse:
        imported = await units.import_units(
            self.pool, request.filename, request.content, principal=current_principal()
        )
        return pb.ImportUnitsResponse(imported_count=len(imported), units=[unit_to_pb(u) for u in imported])

    async def ListDivisions(
        self, request: pb.ListDivisionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDivisionsResponse:
        districts = await divisions.list_divisions(self.pool, principal=current_principal())
        return pb.ListDivisionsResponse(
            districts=[
                pb.District(
                    code=d.code,
                    name=d.name,
                    kind=d.kind,
                    communes=[
                        pb.Commune(code=c.code, name=c.name, kind=c.kind, district_code=c.district_code)
                        for c in d.communes
                    ],
                )
                for d in districts
            ]
        )


def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
    pb_grpc.add_RegistryServiceServicer_to_server(RegistryServicer(pool), server)
