"""SQL of certificates. Reads the decided awards (table `awards`), the nominations' achievements, the rounds'
periods and the units' names (read model `rm_units`); writes only `certificates`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from awards.certificates.domain import CertificateFacts, IssuableAward
from d07.platform.db import Conn
from d07.platform.db.query import from_row, from_rows

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


class CodeCollision(Exception):
    """A new certificate's code or award is taken already (a concurrent issuer, or a code drawn twice)."""


class CertificateRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def awards_by_ids(self, award_ids: Sequence[uuid.UUID]) -> list[IssuableAward]:
        """The awards named (with their certificates, if issued), locked for issuing."""
        sql = _FACTS + " WHERE a.id = ANY($1::uuid[])" + _ORDER + " FOR UPDATE OF a"
        return from_rows(IssuableAward, await self.conn.fetch(sql, award_ids))

    async def awards_of_decision(self, decision_number: str) -> list[IssuableAward]:
        """Every award of one decision, locked for issuing."""
        sql = _FACTS + " WHERE a.decision_number = $1" + _ORDER + " FOR UPDATE OF a"
        return from_rows(IssuableAward, await self.conn.fetch(sql, decision_number))

    async def insert_many(
        self, rows: Sequence[tuple[uuid.UUID, uuid.UUID, str]], *, issued_by: str, issued_at: datetime
    ) -> None:
        """New certificates `(id, award id, code)`: one statement for a whole decision. CodeCollision when a
        code or an award is taken (the transaction is then to be tried again)."""
        try:
            await self.conn.execute(
                """INSERT INTO certificates (id, award_id, code, issued_at, issued_by)
                   SELECT id, award_id, code, $4, $5
                     FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(id, award_id, code)""",
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], issued_at, issued_by,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            raise CodeCollision(str(exc)) from exc

    async def get(self, certificate_id: uuid.UUID) -> CertificateFacts | None:
        row = await self.conn.fetchrow(_FACTS + " WHERE c.id = $1", certificate_id)
        return from_row(CertificateFacts, row) if row is not None else None

    async def by_code(self, code: str) -> CertificateFacts | None:
        row = await self.conn.fetchrow(_FACTS + " WHERE c.code = $1", code)
        return from_row(CertificateFacts, row) if row is not None else None

    async def of_decision(self, decision_number: str) -> list[CertificateFacts]:
        """The issued certificates of a decision's awards that still stand (revoked ones are left out)."""
        rows = await self.conn.fetch(
            _FACTS + " WHERE a.decision_number = $1 AND c.id IS NOT NULL AND a.status = 'decided'" + _ORDER,
            decision_number,
        )
        return from_rows(CertificateFacts, rows)
