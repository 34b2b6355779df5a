"""The award forms are public rules: every authenticated caller reads them (a query, it writes nothing)."""

from __future__ import annotations

import pytest

from awards.forms import service
from awards.forms.service import FormsUnitOfWork, ListForms
from tests.awards.service.fakes import FakeFormRepository
from tests.support.principals import caller, every_role
from tests.support.uow import FakeUnitOfWork


class FakeFormsUnitOfWork(FakeUnitOfWork, FormsUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/awards")
        self.forms = FakeFormRepository()  # type: ignore[assignment]


@pytest.mark.parametrize("role", every_role())
async def test_every_role_reads_the_forms_and_who_decides_them(role: str) -> None:
    uow = FakeFormsUnitOfWork()
    principal = caller(
        role, unit_id="00000000-0000-0000-0000-000000000001" if role == "unit_officer" else None
    )
    forms = await service.list_forms(uow, ListForms(), principal)
    assert [(f.code, f.deciding_role) for f in forms] == [
        ("commendation", "police"),
        ("merit", "chairman_office"),
    ]
    assert uow.audits == []
    assert uow.events == []
