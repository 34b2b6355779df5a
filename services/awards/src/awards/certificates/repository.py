"""SQL of certificates. Reads the decided awards (table `awards`), the nominations' achievements, the rounds'
periods and the units' names (read model `rm_units`); writes only `certificates`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from awards.certificates.domain import CertificateFacts
from d07.platform.db import Conn

# An award with its certificate (if issued): everything a page prints. A unit the read model does not know
# yet has an empty name (the service refuses to issue for it).
_FACTS = """
SELECT c.id AS certificate_id, a.id AS award_id, c.code, c.issued_at, a.form_code, a.recipient_kind,
       a.unit_id, coalesce(u.name, '') AS unit_name, coalesce(a.person_name, '') AS person_name,
       coalesce(n.achievements, '') AS achievement, a.decision_number, a.decided_on, a.signer, a.issuer,
       a.status, r.period_start, r.period_end
  FROM awards a
  LEFT JOIN certificates c ON c.award_id = a.id
  LEFT JOIN nominations n ON n.nomination_id = a.nomination_id
  LEFT JOIN rounds r ON r.round_id = a.round_id
  LEFT JOIN rm_units u ON u.unit_id = a.unit_id
"""
_ORDER = " ORDER BY a.form_code, a.recipient_kind, unit_name, person_name, a.id"


def _facts(row: asyncpg.Record) -> CertificateFacts:
    return CertificateFacts(**dict(row))


async def awards_by_ids(conn: Conn, award_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    """The awards named (with their certificate columns, null when not issued), locked for issuing."""
    sql = _FACTS + " WHERE a.id = ANY($1::uuid[])" + _ORDER + " FOR UPDATE OF a"
    return list(await conn.fetch(sql, award_ids))


async def awards_of_decision(conn: Conn, decision_number: str) -> list[asyncpg.Record]:
    """Every award of one decision, locked for issuing."""
    sql = _FACTS + " WHERE a.decision_number = $1" + _ORDER + " FOR UPDATE OF a"
    return list(await conn.fetch(sql, decision_number))


async def insert_many(
    conn: Conn, rows: Sequence[tuple[uuid.UUID, uuid.UUID, str]], *, issued_by: str, issued_at: datetime
) -> None:
    """New certificates `(id, award id, code)`: one statement for a whole decision."""
    await conn.execute(
        """INSERT INTO certificates (id, award_id, code, issued_at, issued_by)
           SELECT id, award_id, code, $4, $5
             FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(id, award_id, code)""",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        issued_at,
        issued_by,
    )


async def get(conn: Conn, certificate_id: uuid.UUID) -> CertificateFacts | None:
    row = await conn.fetchrow(_FACTS + " WHERE c.id = $1", certificate_id)
    return _facts(row) if row else None


async def by_code(conn: Conn, code: str) -> CertificateFacts | None:
    row = await conn.fetchrow(_FACTS + " WHERE c.code = $1", code)
    return _facts(row) if row else None


async def of_decision(conn: Conn, decision_number: str) -> list[CertificateFacts]:
    """The issued certificates of a decision's awards that still stand (revoked ones are left out)."""
    rows = await conn.fetch(
        _FACTS + " WHERE a.decision_number = $1 AND c.id IS NOT NULL AND a.status = 'decided'" + _ORDER,
        decision_number,
    )
    return [_facts(r) for r in rows]


def facts(row: asyncpg.Record) -> CertificateFacts:
    """A row of `awards_by_ids` / `awards_of_decision` whose certificate exists, as facts."""
    return _facts(row)
