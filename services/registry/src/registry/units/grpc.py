"""gRPC door of units: their part of d07.registry.v1.RegistryService (registry.grpc composes it with the
divisions' part). Thin: messages in, handler, messages out."""

from __future__ import annotations

from typing import Any

import grpc

from d07.platform.convert import date_from_pb, parse_uuid, parse_uuids
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.grpc import current_principal
from d07.registry.v1 import registry_pb2 as pb
from d07.registry.v1 import registry_pb2_grpc as pb_grpc
from registry.config import RegistryDeps
from registry.units import service as units
from registry.units.domain import ChangeKind, ChangeStatus, CreateUnit, UpdateUnit, unit_filter
from registry.units.messages import (
    change_to_pb,
    kind_from_pb,
    scope_rule_to_pb,
    status_from_pb,
    sub_kind_to_pb,
    unit_to_pb,
)
from registry.units.service import UnitsUnitOfWork

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
        "kind": kind_from_pb(request.kind),
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


class UnitsServicer(pb_grpc.RegistryServiceServicer):
    """The units' calls of RegistryService."""

    def __init__(self, deps: RegistryDeps) -> None:
        self.deps = deps

    def uow(self) -> UnitsUnitOfWork:
        return self.deps.uow(UnitsUnitOfWork)

    async def CreateUnit(
        self, request: pb.CreateUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateUnitResponse:
        cmd = CreateUnit(
            code=request.code,
            name=request.name,
            kind=kind_from_pb(request.kind),
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
        unit = await units.create_unit(self.uow(), cmd, current_principal())
        return pb.CreateUnitResponse(unit=unit_to_pb(unit))

    async def GetUnit(
        self, request: pb.GetUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUnitResponse:
        unit = await units.get_unit(self.uow(), units.GetUnit(request.id), current_principal())
        return pb.GetUnitResponse(unit=unit_to_pb(unit))

    async def BatchGetUnits(
        self, request: pb.BatchGetUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetUnitsResponse:
        found, missing = await units.batch_get_units(
            self.uow(), units.BatchGetUnits(list(request.ids)), current_principal()
        )
        return pb.BatchGetUnitsResponse(units=[unit_to_pb(u) for u in found], missing_ids=missing)

    async def UpdateUnit(
        self, request: pb.UpdateUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateUnitResponse:
        cmd = UpdateUnit(
            parse_uuid(request.id, "id", what="unit id"), request.expected_version, _changes(request)
        )
        unit = await units.update_unit(self.uow(), cmd, current_principal())
        return pb.UpdateUnitResponse(unit=unit_to_pb(unit))

    async def ListUnits(
        self, request: pb.ListUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUnitsResponse:
        where = unit_filter(
            kind=kind_from_pb(request.kind),
            sub_kind=request.sub_kind,
            district_code=request.district_code,
            commune_code=request.commune_code,
            status=status_from_pb(request.status),
            in_scope=request.in_scope if request.HasField("in_scope") else None,
            query=request.query,
        )
        found, token = await units.list_units(
            self.uow(),
            units.ListUnits(where, request.page.page_size, request.page.page_token),
            current_principal(),
        )
        response = pb.ListUnitsResponse(units=[unit_to_pb(u) for u in found])
        response.page.next_page_token = token
        return response

    async def MergeUnits(
        self, request: pb.MergeUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.MergeUnitsResponse:
        cmd = ChangeStatus(
            kind=ChangeKind.MERGE,
            from_ids=tuple(parse_uuids(list(request.source_ids), "source_ids", what="unit id")),
            to_ids=(parse_uuid(request.target_id, "target_id", what="unit id"),) if request.target_id else (),
            effective_on=date_from_pb(request.effective_on, "effective_on"),
            decision=request.decision,
            note=request.note,
        )
        change, ended = await units.change_status(self.uow(), cmd, current_principal())
        return pb.MergeUnitsResponse(change=change_to_pb(change), sources=[unit_to_pb(u) for u in ended])

    async def SplitUnit(
        self, request: pb.SplitUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.SplitUnitResponse:
        cmd = ChangeStatus(
            kind=ChangeKind.SPLIT,
            from_ids=(parse_uuid(request.id, "id", what="unit id"),),
            to_ids=tuple(
                parse_uuid(i, f"successor_ids[{n}]", what="unit id")
                for n, i in enumerate(request.successor_ids)
            ),
            effective_on=date_from_pb(request.effective_on, "effective_on"),
            decision=request.decision,
            note=request.note,
            expected_version=request.expected_version,
        )
        change, ended = await units.change_status(self.uow(), cmd, current_principal())
        return pb.SplitUnitResponse(change=change_to_pb(change), unit=unit_to_pb(ended[0]))

    async def DissolveUnit(
        self, request: pb.DissolveUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.DissolveUnitResponse:
        cmd = ChangeStatus(
            kind=ChangeKind.DISSOLVE,
            from_ids=(parse_uuid(request.id, "id", what="unit id"),),
            to_ids=(),
            effective_on=date_from_pb(request.effective_on, "effective_on"),
            decision=request.decision,
            note=request.note,
            expected_version=request.expected_version,
        )
        change, ended = await units.change_status(self.uow(), cmd, current_principal())
        return pb.DissolveUnitResponse(change=change_to_pb(change), unit=unit_to_pb(ended[0]))

    async def ListUnitStatusChanges(
        self, request: pb.ListUnitStatusChangesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUnitStatusChangesResponse:
        changes = await units.list_status_changes(
            self.uow(), units.ListStatusChanges(request.id), current_principal()
        )
        return pb.ListUnitStatusChangesResponse(changes=[change_to_pb(c) for c in changes])

    async def ListUnitSubKinds(
        self, request: pb.ListUnitSubKindsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUnitSubKindsResponse:
        sub_kinds, rules = await units.list_sub_kinds(self.uow(), units.ListSubKinds(), current_principal())
        return pb.ListUnitSubKindsResponse(
            sub_kinds=[sub_kind_to_pb(s) for s in sub_kinds], scope_rules=[scope_rule_to_pb(r) for r in rules]
        )

    async def ImportUnits(
        self, request: pb.ImportUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportUnitsResponse:
        imported = await units.import_units(
            self.uow(), units.ImportUnits(request.filename, request.content), current_principal()
        )
        return pb.ImportUnitsResponse(imported_count=len(imported), units=[unit_to_pb(u) for u in imported])
