"""Award counts by form and recipient kind, from the awards projection (revoked awards do not count)."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from d07.platform.auth import PROVINCE_WIDE_READERS, Principal, require_roles


async def award_counts(
    pool: asyncpg.Pool,
    *,
    round_id: uuid.UUID | None,
    decided_from: date | None,
    decided_to: date | None,
    principal: Principal,
) -> list[dict[str, object]]:
    """One row per form and recipient kind with the number of standing awards, for a round and/or a period
    of decision dates (both optional)."""
    require_roles(principal, *PROVINCE_WIDE_READERS)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT form_code, recipient_kind, count(*) AS awards FROM awards
               WHERE status = 'decided' AND ($1::uuid IS NULL OR round_id = $1)
                 AND ($2::date IS NULL OR decided_on >= $2) AND ($3::date IS NULL OR decided_on <= $3)
               GROUP BY form_code, recipient_kind ORDER BY form_code, recipient_kind""",
            round_id,
            decided_from,
            decided_to,
        )
    return [dict(r) for r in rows]
