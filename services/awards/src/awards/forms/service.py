"""Queries of award forms."""

from __future__ import annotations

from dataclasses import dataclass

from awards.forms.domain import AwardForm
from awards.forms.repository import FormRepository
from d07.platform.auth import Principal
from d07.platform.db import Conn
from d07.platform.uow import UnitOfWork


class FormsUnitOfWork(UnitOfWork):
    forms: FormRepository

    def bind(self, conn: Conn) -> None:
        self.forms = FormRepository(conn)


@dataclass(frozen=True)
class ListForms:
    pass


async def list_forms(uow: FormsUnitOfWork, query: ListForms, principal: Principal) -> list[AwardForm]:
    # The forms and their issuers are public rules: every authenticated caller may read them.
    async with uow:
        return await uow.forms.all()
