"""Handlers of directive documents: issue, update, distribute, acknowledge, and the reads. One logic path
behind the gRPC and HTTP doors; each change is one transaction with its audit row and its outbox event.

Who may do what (checked on every object, not only per route):
- `admin` issues, updates and distributes documents, reads everything, and may record a unit's
  acknowledgement on its behalf (a receipt confirmed on paper);
- `unit_officer` reads only documents distributed to its own unit and only its own unit's receipt, and
  acknowledges for its own unit only;
- `auditor`, `police`, `dic_operator`, `chairman_office`, `service` read everything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Generic, TypeVar

import asyncpg

from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.db import Conn
from d07.platform.errors import (
    AlreadyExists,
    Conflict,
    FieldProblem,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from d07.platform.events import outbox
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.platform.text import fold
from registry.directives import messages
from registry.directives import repository as repo
from registry.directives.domain import (
    AcknowledgeDocument,
    DistributeDocument,
    Distribution,
    Document,
    DocumentAcknowledged,
    DocumentDistributed,
    DocumentIssued,
    DocumentKind,
    DocumentUpdated,
    IssueDocument,
    Progress,
    Receipt,
    UnitList,
    UpdateDocument,
    note_of,
    parse_id,
    revise,
    target_of,
    validate,
)
from registry.divisions import service as divisions

SOURCE = "/d07/registry"
TOPIC = "d07.registry.directives.v1"
# Vietnam keeps one time zone: "today" for the date of issue is the province's today.
VIETNAM = timezone(timedelta(hours=7), "ICT")


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the token of the next (empty on the last page)."""

    items: list[T]
    next_page_token: str


def _today() -> date:
    return datetime.now(VIETNAM).date()


def _reads_everything(principal: Principal) -> bool:
    return principal.has_any(*PROVINCE_WIDE_READERS)


def _not_found(document_id: uuid.UUID) -> NotFound:
    return NotFound(
        f"no document {document_id}",
        code="document_not_found",
        resource_type="document",
        resource_id=str(document_id),
    )


def _number_taken(number: str) -> AlreadyExists:
    return AlreadyExists(
        f"a document numbered {number} exists",
        code="document_number_taken",
        resource_type="document",
        resource_id=number,
        fields=[FieldProblem("number", "already used by another document")],
    )


async def _kind_codes(conn: Conn) -> frozenset[str]:
    return frozenset(k.code for k in await repo.kinds(conn))


async def _check_parent(conn: Conn, parent_id: uuid.UUID | None, *, document_id: uuid.UUID | None) -> None:
    if parent_id is None:
        return
    if not await repo.exists(conn, document_id=parent_id):
        raise InvalidArgument(
            "the parent document does not exist",
            code="unknown_parent",
            fields=[FieldProblem("parent_id", f"no document {parent_id}")],
        )
    if document_id is not None and await repo.descends_from(
        conn, document_id=parent_id, ancestor_id=document_id
    ):
        raise InvalidArgument(
            "a document cannot implement one of the documents that implement it",
            code="parent_cycle",
            fields=[FieldProblem("parent_id", "this document would become its own ancestor")],
        )


async def _publish(conn: Conn, document_id: uuid.UUID, event: messages.Event, principal: Principal) -> None:
    await outbox.add(
        conn,
        topic=TOPIC,
        key=str(document_id),
        source=SOURCE,
        subject=str(document_id),
        message=messages.event_to_pb(event, principal),
    )


async def _visible_document(conn: Conn, document_id: uuid.UUID, principal: Principal) -> Document:
    """The document if it exists and the caller may read it: everything for province-wide readers, only
    documents distributed to its own unit for a unit officer."""
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    document = await repo.get(conn, document_id=document_id)
    if document is None:
        raise _not_found(document_id)
    if not _reads_everything(principal):
        own = uuid.UUID(principal.unit_id) if principal.unit_id else None
        if own is None or await repo.receipt(conn, document_id=document_id, unit_id=own) is None:
            raise PermissionDenied(
                "a unit officer reads only documents distributed to its unit",
                code="not_distributed_to_unit",
                resource_type="document",
                resource_id=str(document_id),
            )
    return document


# --- commands ---------------------------------------------------------------------------------------


async def issue_document(pool: asyncpg.Pool, cmd: IssueDocument, *, principal: Principal) -> Document:
    require_roles(principal, ADMIN)
    async with pool.acquire() as conn, conn.transaction():
        fields = validate(cmd, kinds=await _kind_codes(conn), today=_today())
        await _check_parent(conn, fields.parent_id, document_id=None)
        document = await repo.add(conn, document_id=uuid.uuid4(), fields=fields)
        if document is None:
            raise _number_taken(fields.number)
        await audit.record(
            conn,
            action="document.issue",
            object_type="document",
            object_id=str(document.id),
            details={"number": document.number, "kind": document.kind, "title": document.title},
        )
        await _publish(conn, document.id, DocumentIssued(document), principal)
    return document


async def update_document(pool: asyncpg.Pool, cmd: UpdateDocument, *, principal: Principal) -> Document:
    require_roles(principal, ADMIN)
    document_id = parse_id(cmd.document_id, "id")
    async with pool.acquire() as conn, conn.transaction():
        current = await repo.get(conn, document_id=document_id, lock=True)
        if current is None:
            raise _not_found(document_id)
        fields = revise(current, cmd, kinds=await _kind_codes(conn), today=_today())
        if current.version != cmd.version:
            raise Conflict(
                f"the document is at version {current.version}, not {cmd.version}: read it again",
                code="stale_version",
                resource_type="document",
                resource_id=str(document_id),
            )
        if fields.parent_id != current.parent_id:
            await _check_parent(conn, fields.parent_id, document_id=document_id)
        if fields.number != current.number and await repo.number_taken(
            conn, number=fields.number, other_than=document_id
        ):
            raise _number_taken(fields.number)
        try:
            document = await repo.update(conn, document_id=document_id, version=cmd.version, fields=fields)
        except asyncpg.UniqueViolationError:
            raise _number_taken(fields.number) from None
        assert document is not None  # the row is locked at the version just checked
        await audit.record(
            conn,
            action="document.update",
            object_type="document",
            object_id=str(document_id),
            details={"number": document.number, "version": document.version},
        )
        await _publish(conn, document_id, DocumentUpdated(document), principal)
    return document


async def distribute_document(
    pool: asyncpg.Pool, cmd: DistributeDocument, *, principal: Principal
) -> Distribution:
    """Give the document to units: one receipt per (document, unit); a unit that has it already is not
    given it again. One DocumentDistributed event per call that reached new units (see the event's
    docstring for why not one per unit); a call that adds nothing changes nothing and announces nothing."""
    require_roles(principal, ADMIN)
    document_id = parse_id(cmd.document_id, "document_id")
    target = target_of(cmd)
    async with pool.acquire() as conn, conn.transaction():
        if not await repo.exists(conn, document_id=document_id):
            raise _not_found(document_id)
        if isinstance(target, UnitList):
            states = await repo.unit_states(conn, unit_ids=target.unit_ids)
            problems = [
                FieldProblem(f"unit_ids[{n}]", f"no unit {u}")
                if u not in states
                else FieldProblem(f"unit_ids[{n}]", f"the unit is {states[u]}, not active")
                for n, u in enumerate(target.unit_ids)
                if states.get(u) != "active"
            ]
            if problems:
                raise InvalidArgument(
                    "a document goes to active units only", code="unknown_units", fields=problems
                )
            added = await repo.distribute_to(
                conn, document_id=document_id, unit_ids=target.unit_ids, by=principal.subject
            )
            matched = len(target.unit_ids)
        else:
            if target.district_code:
                place = await divisions.check_place(conn, district_code=target.district_code, commune_code="")
                if place:
                    raise InvalidArgument(
                        "the selector names no district of the province",
                        code="unknown_place",
                        fields=[FieldProblem(f"selector.{p.field}", p.reason) for p in place],
                    )
            added, matched = await repo.distribute_matching(
                conn, document_id=document_id, selector=target, by=principal.subject
            )
        if added:
            await audit.record(
                conn,
                action="document.distribute",
                object_type="document",
                object_id=str(document_id),
                details={
                    "added": len(added),
                    "matched": matched,
                    "target": "units"
                    if isinstance(target, UnitList)
                    else {"district_code": target.district_code, "kind": target.kind},
                },
            )
            event = DocumentDistributed(document_id, tuple(added), datetime.now(UTC))
            await _publish(conn, document_id, event, principal)
    return Distribution(document_id=document_id, added_unit_ids=tuple(added), matched_count=matched)


async def acknowledge_document(
    pool: asyncpg.Pool, cmd: AcknowledgeDocument, *, principal: Principal
) -> Receipt:
    """The unit's receipt, acknowledged. Acknowledging again returns the first acknowledgement unchanged; a
    unit the document was not distributed to cannot acknowledge it (Conflict: FAILED_PRECONDITION / 409)."""
    require_roles(principal, UNIT_OFFICER, ADMIN)
    document_id = parse_id(cmd.document_id, "document_id")
    unit_id = parse_id(cmd.unit_id, "unit_id")
    ensure_unit_access(principal, str(unit_id), write=True)
    note = note_of(cmd)
    async with pool.acquire() as conn, conn.transaction():
        if not await repo.exists(conn, document_id=document_id):
            raise _not_found(document_id)
        done = await repo.acknowledge(
            conn, document_id=document_id, unit_id=unit_id, by=principal.subject, note=note
        )
        receipt = await repo.receipt(conn, document_id=document_id, unit_id=unit_id)
        if receipt is None:
            raise Conflict(
                "the document was not distributed to this unit",
                code="not_distributed",
                resource_type="document",
                resource_id=str(document_id),
            )
        if done:
            await audit.record(
                conn,
                action="document.acknowledge",
                object_type="document",
                object_id=str(document_id),
                unit_id=str(unit_id),
                details={"note": note} if note else None,
            )
            await _publish(conn, document_id, DocumentAcknowledged(receipt), principal)
    return receipt


# --- queries ----------------------------------------------------------------------------------------


async def list_kinds(pool: asyncpg.Pool, *, principal: Principal) -> list[DocumentKind]:
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    async with pool.acquire() as conn:
        return await repo.kinds(conn)


async def get_document(pool: asyncpg.Pool, document_id: str, *, principal: Principal) -> Document:
    async with pool.acquire() as conn:
        return await _visible_document(conn, parse_id(document_id, "id"), principal)


async def list_documents(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    kind: str = "",
    year: int = 0,
    q: str = "",
    unit_id: str = "",
    size: int | None = None,
    page_token: str = "",
) -> Page[Document]:
    """Newest first. A unit officer gets the documents distributed to its own unit, whatever it asks."""
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    if year and not 1900 <= year <= 2100:
        raise InvalidArgument(
            "year out of range", code="invalid_year", fields=[FieldProblem("year", "a year of issue")]
        )
    unit = parse_id(unit_id, "unit_id") if unit_id else None
    if not _reads_everything(principal):
        if unit is not None:
            ensure_unit_access(principal, str(unit))
        unit = parse_id(principal.unit_id or "", "unit_id")
    limit = page_size(size)
    folded = fold(q)
    filters = {"kind": kind, "year": year, "q": folded, "unit_id": str(unit) if unit else ""}
    position = decode_cursor(page_token, filters=filters)
    after = (date.fromisoformat(position[0]), uuid.UUID(position[1])) if position else None
    async with pool.acquire() as conn:
        rows = await repo.list_documents(
            conn, kind=kind, year=year, q=folded, unit_id=unit, after=after, limit=limit + 1
        )
    items = rows[:limit]
    token = ""
    if len(rows) > limit:
        last = items[-1]
        token = encode_cursor([last.issued_on.isoformat(), str(last.id)], filters=filters)
    return Page(items=items, next_page_token=token)


async def get_receipt(pool: asyncpg.Pool, document_id: str, unit_id: str, *, principal: Principal) -> Receipt:
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    doc_id, unit = parse_id(document_id, "document_id"), parse_id(unit_id, "unit_id")
    ensure_unit_access(principal, str(unit))
    async with pool.acquire() as conn:
        receipt = await repo.receipt(conn, document_id=doc_id, unit_id=unit)
    if receipt is None:
        raise NotFound(
            "the document was not distributed to this unit",
            code="receipt_not_found",
            resource_type="document_receipt",
            resource_id=f"{doc_id}/{unit}",
        )
    return receipt


async def list_receipts(
    pool: asyncpg.Pool,
    document_id: str,
    *,
    principal: Principal,
    state: str = "",
    district_code: str = "",
    size: int | None = None,
    page_token: str = "",
) -> Page[Receipt]:
    """A document's receipts by unit code: all, `pending` or `acknowledged`, optionally in one district.
    A unit officer sees only its own unit's receipt."""
    if state not in ("", "pending", "acknowledged"):
        raise InvalidArgument(
            "unknown receipt state",
            code="invalid_state",
            fields=[FieldProblem("state", "pending, acknowledged, or empty for all")],
        )
    limit = page_size(size)
    doc_id = parse_id(document_id, "document_id")
    async with pool.acquire() as conn:
        await _visible_document(conn, doc_id, principal)
        own = None if _reads_everything(principal) else parse_id(principal.unit_id or "", "unit_id")
        filters = {"document_id": str(doc_id), "state": state, "district_code": district_code}
        position = decode_cursor(page_token, filters=filters)
        rows = await repo.list_receipts(
            conn,
            document_id=doc_id,
            acknowledged={"": None, "pending": False, "acknowledged": True}[state],
            district_code=district_code.strip(),
            unit_id=own,
            after=str(position[0]) if position else None,
            limit=limit + 1,
        )
    items = rows[:limit]
    token = encode_cursor([items[-1].unit_code], filters=filters) if len(rows) > limit else ""
    return Page(items=items, next_page_token=token)


async def get_progress(pool: asyncpg.Pool, document_id: str, *, principal: Principal) -> Progress:
    """Counts for the province (a unit officer sees only its own receipt, not the province's progress)."""
    require_roles(principal, *PROVINCE_WIDE_READERS)
    doc_id = parse_id(document_id, "document_id")
    async with pool.acquire() as conn:
        if not await repo.exists(conn, document_id=doc_id):
            raise _not_found(doc_id)
        return await repo.progress(conn, document_id=doc_id)
