"""SQL of directive documents and their receipts (asyncpg). Every statement about them lives here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from d07.platform.db import Conn
from d07.platform.db.query import Where, from_row, from_rows, like_pattern
from registry.directives.domain import (
    DistrictProgress,
    Document,
    DocumentFields,
    DocumentKind,
    Progress,
    Receipt,
    UnitSelector,
    number_taken,
)

DOCUMENT = """d.id, d.number, d.kind, k.label AS kind_label, d.title, d.issued_on, d.issuer, d.summary,
    d.link, d.parent_id, d.version, d.created_at, d.updated_at"""
FROM_DOCUMENTS = "documents d JOIN document_kinds k ON k.code = d.kind"
RECEIPT = """r.document_id, r.unit_id, u.code AS unit_code, u.name AS unit_name, u.district_code,
    r.distributed_at, r.distributed_by, r.acknowledged_at, r.acknowledged_by, r.note"""
FROM_RECEIPTS = "document_receipts r JOIN units u ON u.id = r.unit_id"


def _document(row: asyncpg.Record) -> Document:
    return from_row(Document, dict(row))


def _receipt(row: asyncpg.Record) -> Receipt:
    return from_row(Receipt, dict(row))


class DocumentRepository:
    """Directive documents, their kinds and receipts, and the units they are distributed to (read only)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def kinds(self) -> list[DocumentKind]:
        rows = await self.conn.fetch("SELECT code, label FROM document_kinds ORDER BY position, code")
        return from_rows(DocumentKind, [dict(r) for r in rows])

    async def add(self, *, document_id: uuid.UUID, fields: DocumentFields) -> Document | None:
        """Insert; None when the number is taken."""
        row = await self.conn.fetchrow(
            """INSERT INTO documents
                   (id, number, kind, title, search_text, issued_on, issuer, summary, link, parent_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (number) DO NOTHING
               RETURNING id""",
            document_id,
            fields.number,
            fields.kind,
            fields.title,
            fields.search_text,
            fields.issued_on,
            fields.issuer,
            fields.summary,
            fields.link,
            fields.parent_id,
        )
        return await self.get(document_id=document_id) if row else None

    async def get(self, *, document_id: uuid.UUID, lock: bool = False) -> Document | None:
        lock_clause = " FOR UPDATE OF d" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {DOCUMENT} FROM {FROM_DOCUMENTS} WHERE d.id = $1{lock_clause}", document_id
        )
        return _document(row) if row else None

    async def exists(self, *, document_id: uuid.UUID) -> bool:
        return bool(
            await self.conn.fetchval("SELECT EXISTS (SELECT 1 FROM documents WHERE id = $1)", document_id)
        )

    async def number_taken(self, *, number: str, other_than: uuid.UUID) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM documents WHERE number = $1 AND id <> $2)", number, other_than
            )
        )

    async def descends_from(self, *, document_id: uuid.UUID, ancestor_id: uuid.UUID) -> bool:
        """Whether `ancestor_id` is `document_id` or one of the documents that implement it, at any depth
        (making it the parent would close a cycle)."""
        found = await self.conn.fetchval(
            """WITH RECURSIVE below(id) AS (
                   SELECT $1::uuid
                   UNION
                   SELECT d.id FROM documents d JOIN below b ON d.parent_id = b.id
               )
               SELECT EXISTS (SELECT 1 FROM below WHERE id = $2)""",
            ancestor_id,
            document_id,
        )
        return bool(found)

    async def update(
        self, *, document_id: uuid.UUID, version: int, fields: DocumentFields
    ) -> Document | None:
        """Write the fields if the stored version is `version`; None when it is not (stale); AlreadyExists
        when another document took the number meanwhile."""
        try:
            row = await self.conn.fetchrow(
                """UPDATE documents
                   SET number = $3, kind = $4, title = $5, search_text = $6, issued_on = $7, issuer = $8,
                       summary = $9, link = $10, parent_id = $11, version = version + 1, updated_at = now()
                   WHERE id = $1 AND version = $2
                   RETURNING id""",
                document_id,
                version,
                fields.number,
                fields.kind,
                fields.title,
                fields.search_text,
                fields.issued_on,
                fields.issuer,
                fields.summary,
                fields.link,
                fields.parent_id,
            )
        except asyncpg.UniqueViolationError:
            raise number_taken(fields.number) from None
        return await self.get(document_id=document_id) if row else None

    async def list_documents(
        self,
        *,
        kind: str,
        year: int,
        q: str,
        unit_id: uuid.UUID | None,
        after: tuple[date, uuid.UUID] | None,
        limit: int,
    ) -> list[Document]:
        """Newest first (issued_on, id descending); `q` is already folded."""
        where = Where()
        where.add_if(kind, "d.kind = {}")
        if year:
            where.add("d.issued_on >= {} AND d.issued_on < {}", date(year, 1, 1), date(year + 1, 1, 1))
        if q:
            where.add("d.search_text LIKE {}", like_pattern(q))
        if unit_id is not None:
            where.add(
                "EXISTS (SELECT 1 FROM document_receipts r WHERE r.document_id = d.id AND r.unit_id = {})",
                unit_id,
            )
        if after is not None:
            where.add("(d.issued_on, d.id) < ({}, {})", *after)
        rows = await self.conn.fetch(
            f"""SELECT {DOCUMENT} FROM {FROM_DOCUMENTS} WHERE {where.sql()}
                ORDER BY d.issued_on DESC, d.id DESC LIMIT {where.param(limit)}""",
            *where.args,
        )
        return [_document(r) for r in rows]

    async def unit_states(self, *, unit_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The status of each unit that exists, by id."""
        rows = await self.conn.fetch(
            "SELECT id, status FROM units WHERE id = ANY($1::uuid[])", list(unit_ids)
        )
        return {r["id"]: r["status"] for r in rows}

    async def distribute_to(
        self, *, document_id: uuid.UUID, unit_ids: Sequence[uuid.UUID], by: str
    ) -> list[uuid.UUID]:
        """One receipt per unit that has none yet; the units that got one now."""
        rows = await self.conn.fetch(
            """INSERT INTO document_receipts (document_id, unit_id, distributed_by)
               SELECT $1, u, $3 FROM unnest($2::uuid[]) AS u
               ON CONFLICT (document_id, unit_id) DO NOTHING
               RETURNING unit_id""",
            document_id,
            list(unit_ids),
            by,
        )
        return [r["unit_id"] for r in rows]

    async def distribute_matching(
        self, *, document_id: uuid.UUID, selector: UnitSelector, by: str
    ) -> tuple[list[uuid.UUID], int]:
        """Receipts for every active unit the selector matches that has none yet: (units added, units
        matched)."""
        row = await self.conn.fetchrow(
            """WITH matched AS (
                   SELECT id FROM units
                   WHERE status = 'active'
                     AND ($2 = '' OR district_code = $2)
                     AND ($3 = '' OR kind = $3)
               ), added AS (
                   INSERT INTO document_receipts (document_id, unit_id, distributed_by)
                   SELECT $1, id, $4 FROM matched
                   ON CONFLICT (document_id, unit_id) DO NOTHING
                   RETURNING unit_id
               )
               SELECT (SELECT count(*) FROM matched) AS matched,
                      coalesce((SELECT array_agg(unit_id ORDER BY unit_id) FROM added), '{}') AS added""",
            document_id,
            selector.district_code,
            selector.kind,
            by,
        )
        assert row is not None
        return list(row["added"]), int(row["matched"])

    async def acknowledge(self, *, document_id: uuid.UUID, unit_id: uuid.UUID, by: str, note: str) -> bool:
        """Mark the receipt acknowledged unless it is already; whether this call did it."""
        done = await self.conn.fetchval(
            """UPDATE document_receipts SET acknowledged_at = now(), acknowledged_by = $3, note = $4
               WHERE document_id = $1 AND unit_id = $2 AND acknowledged_at IS NULL
               RETURNING true""",
            document_id,
            unit_id,
            by,
            note,
        )
        return bool(done)

    async def receipt(self, *, document_id: uuid.UUID, unit_id: uuid.UUID) -> Receipt | None:
        row = await self.conn.fetchrow(
            f"SELECT {RECEIPT} FROM {FROM_RECEIPTS} WHERE r.document_id = $1 AND r.unit_id = $2",
            document_id,
            unit_id,
        )
        return _receipt(row) if row else None

    async def list_receipts(
        self,
        *,
        document_id: uuid.UUID,
        acknowledged: bool | None,
        district_code: str,
        unit_id: uuid.UUID | None,
        after: str | None,
        limit: int,
    ) -> list[Receipt]:
        """A document's receipts by unit code (unique), optionally only pending or only acknowledged ones."""
        where = Where()
        where.add("r.document_id = {}", document_id)
        if acknowledged is True:
            where.add("r.acknowledged_at IS NOT NULL")
        elif acknowledged is False:
            where.add("r.acknowledged_at IS NULL")
        where.add_if(district_code, "u.district_code = {}")
        if unit_id is not None:
            where.add("r.unit_id = {}", unit_id)
        if after is not None:
            where.add("u.code > {}", after)
        rows = await self.conn.fetch(
            f"""SELECT {RECEIPT} FROM {FROM_RECEIPTS} WHERE {where.sql()}
                ORDER BY u.code LIMIT {where.param(limit)}""",
            *where.args,
        )
        return [_receipt(r) for r in rows]

    async def progress(self, *, document_id: uuid.UUID) -> Progress:
        """Counts of a document's receipts by the district of each unit (districts with none are left out)."""
        rows = await self.conn.fetch(
            """SELECT u.district_code, coalesce(di.name, '') AS district_name,
                      count(*) AS distributed, count(r.acknowledged_at) AS acknowledged
               FROM document_receipts r
               JOIN units u ON u.id = r.unit_id
               LEFT JOIN districts di ON di.code = u.district_code
               WHERE r.document_id = $1
               GROUP BY u.district_code, di.name
               ORDER BY u.district_code""",
            document_id,
        )
        return Progress(
            document_id=document_id,
            districts=tuple(from_row(DistrictProgress, dict(r)) for r in rows),
        )
