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
from datetime import date
from typing import Generic, TypeVar

from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import (
    Conflict,
    FieldProblem,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ensure_version,
)
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.platform.text import fold
from d07.platform.uow import UnitOfWork
from registry.directives import messages
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
    number_taken,
    revise,
    target_of,
    validate,
)
from registry.directives.repository import DocumentRepository
from registry.divisions import service as divisions
from registry.divisions.repository import DivisionRepository

TOPIC = "d07.registry.directives.v1"


T = TypeVar("T")


# Who writes (the HTTP door repeats these lists in a route dependency: 403 before the body is validated).
ISSUERS = (ADMIN,)  # issue, update, distribute
ACKNOWLEDGERS = (UNIT_OFFICER, ADMIN)  # a unit officer its own unit's receipt


class DirectivesUnitOfWork(UnitOfWork):
    documents: DocumentRepository
    divisions: DivisionRepository

    def bind(self, conn: Conn) -> None:
        self.documents = DocumentRepository(conn)
        self.divisions = DivisionRepository(conn)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the token of the next (empty on the last page)."""

    items: list[T]
    next_page_token: str


# --- queries the doors build (the commands are the domain's) ---------------------------------------------


@dataclass(frozen=True)
class ListDocumentKinds:
    pass


@dataclass(frozen=True)
class GetDocument:
    document_id: str


@dataclass(frozen=True)
class ListDocuments:
    kind: str = ""
    year: int = 0
    q: str = ""
    unit_id: str = ""
    size: int | None = None
    page_token: str = ""


@dataclass(frozen=True)
class GetReceipt:
    document_id: str
    unit_id: str


@dataclass(frozen=True)
class ListReceipts:
    document_id: str
    state: str = ""
    district_code: str = ""
    size: int | None = None
    page_token: str = ""


@dataclass(frozen=True)
class GetProgress:
    document_id: str


def _reads_everything(principal: Principal) -> bool:
    return principal.has_any(*PROVINCE_WIDE_READERS)


def _not_found(document_id: uuid.UUID) -> NotFound:
    return NotFound(
        f"no document {document_id}",
        code="document_not_found",
        resource_type="document",
        resource_id=str(document_id),
    )


async def _kind_codes(uow: DirectivesUnitOfWork) -> frozenset[str]:
    return frozenset(k.code for k in await uow.documents.kinds())


async def _check_parent(
    uow: DirectivesUnitOfWork, parent_id: uuid.UUID | None, *, document_id: uuid.UUID | None
) -> None:
    if parent_id is None:
        return
    if not await uow.documents.exists(document_id=parent_id):
        raise InvalidArgument(
            "the parent document does not exist",
            code="unknown_parent",
            fields=[FieldProblem("parent_id", f"no document {parent_id}")],
        )
    if document_id is not None and await uow.documents.descends_from(
        document_id=parent_id, ancestor_id=document_id
    ):
        raise InvalidArgument(
            "a document cannot implement one of the documents that implement it",
            code="parent_cycle",
            fields=[FieldProblem("parent_id", "this document would become its own ancestor")],
        )


async def _publish(
    uow: DirectivesUnitOfWork, document_id: uuid.UUID, event: messages.Event, principal: Principal
) -> None:
    await uow.publish(
        TOPIC, key=str(document_id), subject=str(document_id), message=messages.event_to_pb(event, principal)
    )


async def _visible_document(
    uow: DirectivesUnitOfWork, document_id: uuid.UUID, principal: Principal
) -> Document:
    """The document if it exists and the caller may read it: everything for province-wide readers, only
    documents distributed to its own unit for a unit officer."""
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    document = await uow.documents.get(document_id=document_id)
    if document is None:
        raise _not_found(document_id)
    if not _reads_everything(principal):
        own = uuid.UUID(principal.unit_id) if principal.unit_id else None
        if own is None or await uow.documents.receipt(document_id=document_id, unit_id=own) is None:
            raise PermissionDenied(
                "a unit officer reads only documents distributed to its unit",
                code="not_distributed_to_unit",
                resource_type="document",
                resource_id=str(document_id),
            )
    return document


# --- commands ---------------------------------------------------------------------------------------


async def issue_document(uow: DirectivesUnitOfWork, cmd: IssueDocument, principal: Principal) -> Document:
    require_roles(principal, *ISSUERS)
    async with uow:
        fields = validate(cmd, kinds=await _kind_codes(uow), today=uow.today())
        await _check_parent(uow, fields.parent_id, document_id=None)
        document = await uow.documents.add(document_id=uuid.uuid4(), fields=fields)
        if document is None:
            raise number_taken(fields.number)
        await uow.audit(
            action="document.issue",
            object_type="document",
            object_id=str(document.id),
            details={"number": document.number, "kind": document.kind, "title": document.title},
        )
        await _publish(uow, document.id, DocumentIssued(document), principal)
    return document


async def update_document(uow: DirectivesUnitOfWork, cmd: UpdateDocument, principal: Principal) -> Document:
    require_roles(principal, *ISSUERS)
    document_id = parse_uuid(cmd.document_id, "id")
    async with uow:
        current = await uow.documents.get(document_id=document_id, lock=True)
        if current is None:
            raise _not_found(document_id)
        fields = revise(current, cmd, kinds=await _kind_codes(uow), today=uow.today())
        ensure_version(cmd.version, current.version, what="document", object_id=document_id)
        if fields.parent_id != current.parent_id:
            await _check_parent(uow, fields.parent_id, document_id=document_id)
        if fields.number != current.number and await uow.documents.number_taken(
            number=fields.number, other_than=document_id
        ):
            raise number_taken(fields.number)
        document = await uow.documents.update(document_id=document_id, version=cmd.version, fields=fields)
        assert document is not None  # the row is locked at the version just checked
        await uow.audit(
            action="document.update",
            object_type="document",
            object_id=str(document_id),
            details={
                "number": document.number,
                "changes": audit.changes(current, document),
                "version": document.version,
            },
        )
        await _publish(uow, document_id, DocumentUpdated(document), principal)
    return document


async def distribute_document(
    uow: DirectivesUnitOfWork, cmd: DistributeDocument, principal: Principal
) -> Distribution:
    """Give the document to units: one receipt per (document, unit); a unit that has it already is not
    given it again. One DocumentDistributed event per call that reached new units (see the event's
    docstring for why not one per unit); a call that adds nothing changes nothing and announces nothing."""
    require_roles(principal, *ISSUERS)
    document_id = parse_uuid(cmd.document_id, "document_id")
    target = target_of(cmd)
    async with uow:
        if not await uow.documents.exists(document_id=document_id):
            raise _not_found(document_id)
        if isinstance(target, UnitList):
            states = await uow.documents.unit_states(unit_ids=target.unit_ids)
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
            added = await uow.documents.distribute_to(
                document_id=document_id, unit_ids=target.unit_ids, by=principal.subject
            )
            matched = len(target.unit_ids)
        else:
            if target.district_code:
                place = await divisions.check_place(
                    uow.divisions, district_code=target.district_code, commune_code=""
                )
                if place:
                    raise InvalidArgument(
                        "the selector names no district of the province",
                        code="unknown_place",
                        fields=[FieldProblem(f"selector.{p.field}", p.reason) for p in place],
                    )
            added, matched = await uow.documents.distribute_matching(
                document_id=document_id, selector=target, by=principal.subject
            )
        if added:
            await uow.audit(
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
            event = DocumentDistributed(document_id, tuple(added), uow.now())
            await _publish(uow, document_id, event, principal)
    return Distribution(document_id=document_id, added_unit_ids=tuple(added), matched_count=matched)


async def acknowledge_document(
    uow: DirectivesUnitOfWork, cmd: AcknowledgeDocument, principal: Principal
) -> Receipt:
    """The unit's receipt, acknowledged. Acknowledging again returns the first acknowledgement unchanged; a
    unit the document was not distributed to cannot acknowledge it (Conflict: FAILED_PRECONDITION / 409)."""
    require_roles(principal, *ACKNOWLEDGERS)
    document_id = parse_uuid(cmd.document_id, "document_id")
    unit_id = parse_uuid(cmd.unit_id, "unit_id")
    ensure_unit_access(principal, str(unit_id), write=True)
    note = note_of(cmd)
    async with uow:
        if not await uow.documents.exists(document_id=document_id):
            raise _not_found(document_id)
        done = await uow.documents.acknowledge(
            document_id=document_id, unit_id=unit_id, by=principal.subject, note=note
        )
        receipt = await uow.documents.receipt(document_id=document_id, unit_id=unit_id)
        if receipt is None:
            raise Conflict(
                "the document was not distributed to this unit",
                code="not_distributed",
                resource_type="document",
                resource_id=str(document_id),
            )
        if done:
            await uow.audit(
                action="document.acknowledge",
                object_type="document",
                object_id=str(document_id),
                unit_id=str(unit_id),
                details={"note": note} if note else None,
            )
            await _publish(uow, document_id, DocumentAcknowledged(receipt), principal)
    return receipt


# --- queries ----------------------------------------------------------------------------------------


async def list_kinds(
    uow: DirectivesUnitOfWork, query: ListDocumentKinds, principal: Principal
) -> list[DocumentKind]:
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    async with uow:
        return await uow.documents.kinds()


async def get_document(uow: DirectivesUnitOfWork, query: GetDocument, principal: Principal) -> Document:
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    document_id = parse_uuid(query.document_id, "id")
    async with uow:
        return await _visible_document(uow, document_id, principal)


async def list_documents(
    uow: DirectivesUnitOfWork, query: ListDocuments, principal: Principal
) -> Page[Document]:
    """Newest first. A unit officer gets the documents distributed to its own unit, whatever it asks."""
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    kind, year, q, unit_id, page_token = query.kind, query.year, query.q, query.unit_id, query.page_token
    if year and not 1900 <= year <= 2100:
        raise InvalidArgument(
            "year out of range", code="invalid_year", fields=[FieldProblem("year", "a year of issue")]
        )
    unit = parse_uuid(unit_id, "unit_id") if unit_id else None
    if not _reads_everything(principal):
        if unit is not None:
            ensure_unit_access(principal, str(unit))
        unit = parse_uuid(principal.unit_id or "", "unit_id")
    limit = page_size(query.size)
    folded = fold(q)
    filters = {"kind": kind, "year": year, "q": folded, "unit_id": str(unit) if unit else ""}
    position = decode_cursor(page_token, filters=filters)
    after = (date.fromisoformat(position[0]), uuid.UUID(position[1])) if position else None
    async with uow:
        rows = await uow.documents.list_documents(
            kind=kind, year=year, q=folded, unit_id=unit, after=after, limit=limit + 1
        )
    items = rows[:limit]
    token = ""
    if len(rows) > limit:
        last = items[-1]
        token = encode_cursor([last.issued_on.isoformat(), str(last.id)], filters=filters)
    return Page(items=items, next_page_token=token)


async def get_receipt(uow: DirectivesUnitOfWork, query: GetReceipt, principal: Principal) -> Receipt:
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    doc_id, unit = parse_uuid(query.document_id, "document_id"), parse_uuid(query.unit_id, "unit_id")
    ensure_unit_access(principal, str(unit))
    async with uow:
        receipt = await uow.documents.receipt(document_id=doc_id, unit_id=unit)
    if receipt is None:
        raise NotFound(
            "the document was not distributed to this unit",
            code="receipt_not_found",
            resource_type="document_receipt",
            resource_id=f"{doc_id}/{unit}",
        )
    return receipt


async def list_receipts(
    uow: DirectivesUnitOfWork, query: ListReceipts, principal: Principal
) -> Page[Receipt]:
    """A document's receipts by unit code: all, `pending` or `acknowledged`, optionally in one district.
    A unit officer sees only its own unit's receipt."""
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    state, district_code, page_token = query.state, query.district_code, query.page_token
    if state not in ("", "pending", "acknowledged"):
        raise InvalidArgument(
            "unknown receipt state",
            code="invalid_state",
            fields=[FieldProblem("state", "pending, acknowledged, or empty for all")],
        )
    limit = page_size(query.size)
    doc_id = parse_uuid(query.document_id, "document_id")
    async with uow:
        await _visible_document(uow, doc_id, principal)
        own = None if _reads_everything(principal) else parse_uuid(principal.unit_id or "", "unit_id")
        filters = {"document_id": str(doc_id), "state": state, "district_code": district_code}
        position = decode_cursor(page_token, filters=filters)
        rows = await uow.documents.list_receipts(
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


async def get_progress(uow: DirectivesUnitOfWork, query: GetProgress, principal: Principal) -> Progress:
    """Counts for the province (a unit officer sees only its own receipt, not the province's progress)."""
    require_roles(principal, *PROVINCE_WIDE_READERS)
    doc_id = parse_uuid(query.document_id, "document_id")
    async with uow:
        if not await uow.documents.exists(document_id=doc_id):
            raise _not_found(doc_id)
        return await uow.documents.progress(document_id=doc_id)
