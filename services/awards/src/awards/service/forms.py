"""Queries of award forms."""

from __future__ import annotations

import asyncpg

from awards.domain.forms import AwardForm
from d07.platform.auth import Principal


async def list_forms(pool: asyncpg.Pool, *, principal: Principal) -> list[AwardForm]:
    # The forms and their issuers are public rules: every authenticated caller may read them.
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT code, name, issuer, deciding_role FROM award_forms ORDER BY code")
    return [AwardForm(r["code"], r["name"], r["issuer"], r["deciding_role"]) for r in rows]
