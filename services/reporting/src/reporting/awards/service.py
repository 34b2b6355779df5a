"""Award counts by form and recipient kind, from the awards projection (revoked awards do not count)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from d07.platform.auth import PROVINCE_WIDE_READERS, Principal, require_roles
from d07.platform.db import Conn
from d07.platform.uow import UnitOfWork
from reporting.awards.domain import AwardCount
from reporting.awards.repository import AwardRepository


class AwardsUnitOfWork(UnitOfWork):
    awards: AwardRepository

    def bind(self, conn: Conn) -> None:
        self.awards = AwardRepository(conn)


@dataclass(frozen=True)
class AwardCountsQuery:
    """For a round and/or a period of decision dates (each optional)."""

    round_id: uuid.UUID | None = None
    decided_from: date | None = None
    decided_to: date | None = None


async def award_counts(
    uow: AwardsUnitOfWork, query: AwardCountsQuery, principal: Principal
) -> list[AwardCount]:
    """One row per form and recipient kind with the number of standing awards."""
    require_roles(principal, *PROVINCE_WIDE_READERS)
    async with uow:
        return await uow.awards.counts(
            round_id=query.round_id, decided_from=query.decided_from, decided_to=query.decided_to
        )
