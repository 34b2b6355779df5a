"""The audit API: `ListAuditRecords` for auditors, served by every service from its own schema's trail.

One handler (`list_audit_records(uow, query, principal)`: roles auditor and admin only, checked first), and
its two doors, which the runtime adds to every service beside its own (`ServiceSpec(audit_api=True)`):

- gRPC `d07.common.v1.AuditService/ListAuditRecords` (`register(server, deps)`, `SERVICE_NAME`);
- HTTP `GET /v1/audit-records` (`router(deps)`).

Filters: actor (a token subject), object type and id, action, unit, and a time range (`from` inclusive,
`to` exclusive); newest first; paged with the platform's cursors. A record answers who (subject and roles),
what (action, object, unit), when, from where (client address, request id) and the details, where an
update's `changes` hold each changed field's old and new value (`audit.changes`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import grpc
from fastapi import APIRouter, Query
from google.protobuf.struct_pb2 import Struct
from pydantic import BaseModel, Field

from d07.common.v1 import audit_pb2 as pb
from d07.common.v1 import audit_pb2_grpc as pb_grpc
from d07.common.v1 import common_pb2
from d07.platform import pagination
from d07.platform.audit import AuditFilter, AuditRecord, jsonable, list_records
from d07.platform.auth import ADMIN, AUDITOR, Principal, require_roles
from d07.platform.convert import from_timestamp, parse_uuid, timestamp
from d07.platform.db import Conn
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.grpc import current_principal
from d07.platform.http import Caller
from d07.platform.uow import UnitOfWork

SERVICE_NAME = "d07.common.v1.AuditService"
READERS = (ADMIN, AUDITOR)
MAX_FILTER_LENGTH = 200


# --- the handler ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListAuditRecords:
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    unit_id: str = ""
    # A time, or its ISO 8601 text as the HTTP door got it (parsed after the role check).
    since: datetime.datetime | str | None = None
    until: datetime.datetime | str | None = None
    page_size: int = 0
    page_token: str = ""


class AuditTrail:
    """The repository of the trail's read side (the rows are written by `audit.record`)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def list(self, where: AuditFilter, *, before_id: int | None, limit: int) -> list[AuditRecord]:
        return await list_records(self.conn, where, before_id=before_id, limit=limit)


class AuditUnitOfWork(UnitOfWork):
    trail: AuditTrail

    def bind(self, conn: Conn) -> None:
        self.trail = AuditTrail(conn)


def _text(value: str, field: str) -> str:
    if len(value) > MAX_FILTER_LENGTH or "\x00" in value:
        raise InvalidArgument(
            f"{field} is not a value the trail holds", code="invalid_filter",
            fields=[FieldProblem(field, f"at most {MAX_FILTER_LENGTH} characters, no NUL")],
        )  # fmt: skip
    return value


def _aware(value: datetime.datetime | str | None, field: str) -> datetime.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(_text(value, field))
        except ValueError:
            raise InvalidArgument(
                f"{field} is not a time", code="invalid_time",
                fields=[FieldProblem(field, "ISO 8601 with offset, for example 2026-12-03T08:00:00+07:00")],
            ) from None  # fmt: skip
    if value.tzinfo is None:
        raise InvalidArgument(
            f"{field} needs a time zone", code="invalid_time",
            fields=[FieldProblem(field, "a time with its offset, for example 2026-12-03T08:00:00+07:00")],
        )  # fmt: skip
    return value


async def list_audit_records(
    uow: AuditUnitOfWork, query: ListAuditRecords, principal: Principal
) -> tuple[list[AuditRecord], str]:
    """A page of the trail, newest first, and the token of the next page ('' at the end)."""
    require_roles(principal, *READERS)
    where = AuditFilter(
        actor=_text(query.actor, "actor"),
        object_type=_text(query.object_type, "object_type"),
        object_id=_text(query.object_id, "object_id"),
        action=_text(query.action, "action"),
        unit_id=parse_uuid(query.unit_id, "unit_id") if query.unit_id else None,
        since=_aware(query.since, "from"),
        until=_aware(query.until, "to"),
    )
    if where.since is not None and where.until is not None and where.since >= where.until:
        raise InvalidArgument(
            "the time range is empty", code="invalid_time_range",
            fields=[FieldProblem("to", "after from")],
        )  # fmt: skip
    limit = pagination.page_size(query.page_size)
    filters: dict[str, Any] = {
        "actor": where.actor, "object_type": where.object_type, "object_id": where.object_id,
        "action": where.action, "unit_id": str(where.unit_id or ""),
        "from": where.since.isoformat() if where.since else "",
        "to": where.until.isoformat() if where.until else "",
    }  # fmt: skip
    position = pagination.decode_cursor(query.page_token, filters=filters)
    before_id = None
    if position is not None:
        try:
            before_id = int(position[0])
        except (IndexError, TypeError, ValueError):
            raise InvalidArgument(
                "page_token is not a token this API gave", code="invalid_page_token"
            ) from None
    async with uow:
        rows = await uow.trail.list(where, before_id=before_id, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    token = pagination.encode_cursor([page[-1].id], filters=filters) if more else ""
    return page, token


# --- the gRPC door --------------------------------------------------------------------------------------


class AuditDeps(Protocol):
    def uow(self, cls: type[AuditUnitOfWork]) -> AuditUnitOfWork: ...


def record_to_pb(record: AuditRecord) -> pb.AuditRecord:
    details = Struct()
    details.update(jsonable(record.details))
    return pb.AuditRecord(
        id=record.id, at=timestamp(record.at),
        actor=common_pb2.Actor(subject=record.actor, roles=record.roles),
        action=record.action, object_type=record.object_type, object_id=record.object_id,
        unit_id=record.unit_id, source=record.source, request_id=record.request_id, details=details,
    )  # fmt: skip


class AuditServicer(pb_grpc.AuditServiceServicer):
    def __init__(self, deps: AuditDeps) -> None:
        self.deps = deps

    async def ListAuditRecords(
        self, request: pb.ListAuditRecordsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListAuditRecordsResponse:
        records, token = await list_audit_records(
            self.deps.uow(AuditUnitOfWork),
            ListAuditRecords(
                actor=request.actor, object_type=request.object_type, object_id=request.object_id,
                action=request.action, unit_id=request.unit_id,
                since=from_timestamp(getattr(request, "from")) if request.HasField("from") else None,
                until=from_timestamp(request.to) if request.HasField("to") else None,
                page_size=request.page.page_size, page_token=request.page.page_token,
            ),
            current_principal(),
        )  # fmt: skip
        return pb.ListAuditRecordsResponse(
            records=[record_to_pb(r) for r in records], page=common_pb2.PageInfo(next_page_token=token)
        )


def register(server: grpc.aio.Server, deps: AuditDeps) -> None:
    pb_grpc.add_AuditServiceServicer_to_server(AuditServicer(deps), server)  # type: ignore[no-untyped-call]


# --- the HTTP door --------------------------------------------------------------------------------------


class ActorRead(BaseModel):
    subject: str = Field(description="the token's subject; 'system' for the service's own jobs and consumers")
    roles: list[str]


class AuditRecordRead(BaseModel):
    id: int
    at: datetime.datetime
    actor: ActorRead
    action: str = Field(examples=["guard.update"])
    object_type: str = Field(examples=["guard"])
    object_id: str
    unit_id: str = Field(description="'' when the object belongs to no unit")
    source: str = Field(description="the client's address")
    request_id: str
    details: dict[str, Any] = Field(
        description='an update\'s "changes" hold each changed field\'s "old" and "new" value',
        examples=[{"changes": {"position": {"old": "Tổ viên", "new": "Tổ trưởng"}}, "version": 2}],
    )

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRecordRead:
        return cls(
            id=record.id, at=record.at, actor=ActorRead(subject=record.actor, roles=record.roles),
            action=record.action, object_type=record.object_type, object_id=record.object_id,
            unit_id=record.unit_id, source=record.source, request_id=record.request_id,
            details=jsonable(record.details),
        )  # fmt: skip


class AuditRecordPage(BaseModel):
    items: list[AuditRecordRead]
    next_page_token: str = Field(description="'' on the last page")


def router(deps: AuditDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["audit"])

    @api.get("/audit-records", response_model=AuditRecordPage)
    async def list_audit_records_route(
        caller: Caller,
        actor: str = "",
        object_type: str = "",
        object_id: str = "",
        action: str = "",
        unit_id: str = "",
        since: Annotated[str, Query(alias="from", description="ISO 8601 with offset; inclusive")] = "",
        until: Annotated[str, Query(alias="to", description="ISO 8601 with offset; exclusive")] = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> AuditRecordPage:
        """The service's audit trail, newest first (roles auditor and admin)."""
        records, token = await list_audit_records(
            deps.uow(AuditUnitOfWork),
            ListAuditRecords(
                actor=actor, object_type=object_type, object_id=object_id, action=action, unit_id=unit_id,
                since=since, until=until, page_size=page_size, page_token=page_token,
            ),
            caller,
        )  # fmt: skip
        return AuditRecordPage(items=[AuditRecordRead.of(r) for r in records], next_page_token=token)

    return api


__all__ = [
    "SERVICE_NAME",
    "AuditRecordRead",
    "AuditTrail",
    "AuditUnitOfWork",
    "ListAuditRecords",
    "list_audit_records",
    "register",
    "router",
]
