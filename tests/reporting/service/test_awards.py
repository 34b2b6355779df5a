"""The award counts over a fake: who may read them, and the filters they pass on."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from d07.platform.auth import PROVINCE_WIDE_READERS, UNIT_OFFICER
from d07.platform.errors import PermissionDenied
from reporting.awards.domain import AwardCount
from reporting.awards.service import AwardCountsQuery, award_counts
from tests.reporting.service.fakes import FakeAwardsUnitOfWork
from tests.support.principals import caller, every_role

UNIT = "5c7a1f2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b"


@pytest.mark.parametrize("role", every_role())
async def test_the_province_wide_readers_may_read_the_counts(role: str) -> None:
    uow = FakeAwardsUnitOfWork()
    who = caller(role, unit_id=UNIT if role == UNIT_OFFICER else None)
    if role in PROVINCE_WIDE_READERS:
        assert await award_counts(uow, AwardCountsQuery(), who) == []
        assert uow.commits == 1
    else:
        with pytest.raises(PermissionDenied) as refused:
            await award_counts(uow, AwardCountsQuery(), who)
        assert refused.value.code == "role_required"
        assert (uow.awards.asked, uow.commits) == ([], 0)
    assert (uow.audits, uow.events) == ([], [])


async def test_the_counts_and_their_filters() -> None:
    uow = FakeAwardsUnitOfWork()
    uow.awards.standing = [AwardCount("merit", "collective", 3), AwardCount("merit", "individual", 1)]
    round_id = uuid.uuid4()
    query = AwardCountsQuery(round_id=round_id, decided_from=date(2019, 1, 1), decided_to=date(2019, 12, 31))
    assert await award_counts(uow, query, caller("auditor")) == uow.awards.standing
    assert uow.awards.asked == [
        {"round_id": round_id, "decided_from": date(2019, 1, 1), "decided_to": date(2019, 12, 31)}
    ]
