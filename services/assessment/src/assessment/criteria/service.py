"""Handlers of the criteria sets (read only: the sets are data of the migrations)."""

from __future__ import annotations

from assessment.criteria.domain import CriteriaSet, ListCriteriaSets
from assessment.criteria.repository import CriteriaRepository
from d07.platform.auth import Principal
from d07.platform.db import Conn
from d07.platform.uow import UnitOfWork


class CriteriaUnitOfWork(UnitOfWork):
    criteria: CriteriaRepository

    def bind(self, conn: Conn) -> None:
        self.criteria = CriteriaRepository(conn)


async def list_criteria_sets(
    uow: CriteriaUnitOfWork, query: ListCriteriaSets, principal: Principal
) -> list[CriteriaSet]:
    # Criteria are public rules of the standard: every authenticated caller may read them.
    async with uow:
        return await uow.criteria.list_sets()
