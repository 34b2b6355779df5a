"""Handlers of the review aggregate over fakes: the review report, its drill-down and the projection status
(who may read them, what is refused before anything is read, what they read and how they put it together)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import pytest

from d07.platform.auth import ADMIN, AUDITOR, CHAIRMAN_OFFICE, POLICE, SERVICE, UNIT_OFFICER, Principal
from d07.platform.errors import InvalidArgument, PermissionDenied
from reporting.review.domain import (
    FIGURES,
    PartitionOffset,
    Period,
    ProjectionStatus,
    Record,
    StreamStatus,
)
from reporting.review.service import (
    RecordsQuery,
    ReviewQuery,
    StatusQuery,
    figure_records,
    projection_status,
    review_report,
)
from tests.reporting.service.fakes import FakeReviewUnitOfWork, counts
from tests.support.principals import caller, every_role

READERS = {ADMIN, POLICE, CHAIRMAN_OFFICE, AUDITOR, SERVICE}
UNIT = "5c7a1f2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
MARCH = Period(date(2019, 3, 1), date(2019, 3, 31))
FEBRUARY = MARCH.previous()  # 2019-01-29 .. 2019-02-28, 31 days


def who(role: str) -> Principal:
    return caller(role, unit_id=UNIT if role == UNIT_OFFICER else None)


Call = Callable[[FakeReviewUnitOfWork, Principal], Awaitable[object]]
QUERIES: dict[str, Call] = {
    "review report": lambda uow, p: review_report(uow, ReviewQuery(MARCH.start, MARCH.end), p),
    "drill-down": lambda uow, p: figure_records(
        uow, RecordsQuery("violations.opened", MARCH.start, MARCH.end), p
    ),
    "projection status": lambda uow, p: projection_status(uow, StatusQuery(), p),
}


def untouched(uow: FakeReviewUnitOfWork) -> bool:
    """Nothing read, no transaction opened, nothing written."""
    return (uow.reports.calls, uow.commits, uow.rollbacks, uow.audits, uow.events) == ([], 0, 0, [], [])


# --- who may read -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", list(QUERIES))
@pytest.mark.parametrize("role", every_role())
async def test_only_the_readers_may_read(query: str, role: str) -> None:
    uow = FakeReviewUnitOfWork()
    if role in READERS:
        await QUERIES[query](uow, who(role))
        assert uow.commits == 1
    else:
        with pytest.raises(PermissionDenied) as refused:
            await QUERIES[query](uow, who(role))
        assert refused.value.code == "role_required"
        assert untouched(uow)
    assert (uow.audits, uow.events) == ([], [])  # reads: no audit row, no event


@pytest.mark.parametrize(
    "query",
    [
        lambda uow, p: review_report(uow, ReviewQuery(MARCH.end, MARCH.start), p),
        lambda uow, p: figure_records(uow, RecordsQuery("no.such.figure", None, None), p),
    ],
)
async def test_the_role_is_checked_before_the_query(query: Call) -> None:
    uow = FakeReviewUnitOfWork()
    with pytest.raises(PermissionDenied):
        await query(uow, who(UNIT_OFFICER))
    assert untouched(uow)


# --- what is refused after the role check, before anything is read ------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "fields"),
    [
        (date(2019, 3, 31), date(2019, 3, 1), ["from"]),  # from after to
        (None, date(2019, 3, 1), ["from"]),
        (date(2019, 3, 1), None, ["to"]),
        (None, None, ["from", "to"]),
        (date(1899, 12, 31), date(2019, 3, 1), ["from", "to"]),  # out of range
        (date(2019, 3, 1), date(9001, 1, 1), ["from", "to"]),
    ],
)
async def test_a_bad_period_is_refused(start: date | None, end: date | None, fields: list[str]) -> None:
    for query in (
        lambda uow: review_report(uow, ReviewQuery(start, end), who(POLICE)),
        lambda uow: figure_records(uow, RecordsQuery("models.total", start, end), who(POLICE)),
    ):
        uow = FakeReviewUnitOfWork()
        with pytest.raises(InvalidArgument) as refused:
            await query(uow)
        assert refused.value.code == "invalid_period"
        assert [f.field for f in refused.value.fields] == fields
        assert untouched(uow)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (RecordsQuery("no.such.figure", MARCH.start, MARCH.end), "unknown_figure"),
        (RecordsQuery("violations.opened", MARCH.start, MARCH.end, dimension="kind"), "invalid_breakdown"),
        (RecordsQuery("violations.opened", MARCH.start, MARCH.end, key="crowd"), "invalid_breakdown"),
        (
            RecordsQuery("violations.opened", MARCH.start, MARCH.end, dimension="x", key="y"),
            "invalid_breakdown",
        ),
        (
            RecordsQuery("models.total", MARCH.start, MARCH.end, dimension="kind", key="y"),
            "invalid_breakdown",
        ),
        (RecordsQuery("models.total", MARCH.start, MARCH.end, size=-1), "invalid_page_size"),
        (RecordsQuery("models.total", MARCH.start, MARCH.end, token="not a token"), "invalid_page_token"),  # noqa: S106
    ],
)
async def test_a_bad_drill_down_is_refused(query: RecordsQuery, code: str) -> None:
    uow = FakeReviewUnitOfWork()
    with pytest.raises(InvalidArgument) as refused:
        await figure_records(uow, query, who(AUDITOR))
    assert refused.value.code == code
    assert untouched(uow)


# --- the report ---------------------------------------------------------------------------------------------


async def test_the_report_reads_both_periods_in_one_snapshot_and_puts_them_side_by_side() -> None:
    uow = FakeReviewUnitOfWork()
    repo = uow.reports
    repo.by_period[(MARCH, "003")] = counts(
        cameras__planned=40, cameras__installed=30, violations__opened=12, cameras__online_hours=24
    )
    repo.by_period[(FEBRUARY, "003")] = counts(cameras__planned=10, violations__opened=3)
    repo.splits[(MARCH, "003")] = [{"intrusion": 8, "crowd": 4}, {"003": 12}]
    repo.splits[(FEBRUARY, "003")] = [{"crowd": 3}, {"003": 3}]
    repo.goal = 120

    report = await review_report(uow, ReviewQuery(MARCH.start, MARCH.end, "003"), who(CHAIRMAN_OFFICE))

    assert repo.calls[0] == ("snapshot",)  # first, so every read shares one snapshot
    assert sorted(repo.calls[1:], key=repr) == sorted([
        ("counts", MARCH, "003"), ("counts", FEBRUARY, "003"), ("target", MARCH, "003"),
        ("breakdowns", MARCH, "003"), ("breakdowns", FEBRUARY, "003"),
    ], key=repr)  # fmt: skip
    assert uow.commits == 1
    assert (report.period, report.previous, report.district_code) == (MARCH, FEBRUARY, "003")
    assert [f.name for f in report.figures] == list(FIGURES)
    values = {f.name: (f.value, f.previous, f.target, f.unit) for f in report.figures}
    assert values["cameras.planned"] == (40, 10, 120, None)
    assert values["cameras.installed"] == (30, 0, 120, None)
    assert values["violations.opened"] == (12, 3, None, None)
    assert values["cameras.online_hours"] == (24, 0, None, "hours")
    assert values["violations.detections"] == (0, 0, None, "detections")
    rates = {r.name: (r.value, r.previous) for r in report.rates}
    assert rates == {"cameras.uptime": (None, None), "violations.per_camera_online_hour": (0.5, None)}
    kinds, districts = report.breakdowns
    assert (kinds.figure, kinds.dimension, districts.dimension) == ("violations.opened", "kind", "district")
    assert [(e.key, e.label, e.value, e.previous) for e in kinds.entries] == [
        ("crowd", "Tụ tập đông người", 4, 3), ("intrusion", "Xâm nhập trái phép", 8, 0),
    ]  # fmt: skip
    assert [(e.key, e.value, e.previous) for e in districts.entries] == [("003", 12, 3)]


async def test_an_empty_period_gives_zeros_and_absent_rates() -> None:
    uow = FakeReviewUnitOfWork()
    report = await review_report(uow, ReviewQuery(MARCH.start, MARCH.end), who(SERVICE))
    assert {(f.value, f.previous) for f in report.figures} == {(0, 0)}
    assert {f.target for f in report.figures} == {None}
    assert {(r.value, r.previous) for r in report.rates} == {(None, None)}
    assert [b.entries for b in report.breakdowns] == [[], []]


# --- the drill-down -----------------------------------------------------------------------------------------


async def test_the_drill_down_pages_through_the_records_by_id() -> None:
    uow = FakeReviewUnitOfWork()
    uow.reports.records_of["cameras.online_hours"] = [
        Record(f"id-{n}", f"K{n}", quantity=float(n)) for n in (3, 1, 2)
    ]
    query = RecordsQuery("cameras.online_hours", MARCH.start, MARCH.end, district_code="003", size=2)

    first = await figure_records(uow, query, who(ADMIN))
    assert [(r.id, r.quantity) for r in first.records] == [("id-1", 1.0), ("id-2", 2.0)]
    assert first.next_page_token
    second = await figure_records(
        uow, RecordsQuery(**{**vars(query), "token": first.next_page_token}), who(ADMIN)
    )
    assert [r.id for r in second.records] == ["id-3"]
    assert second.next_page_token == ""
    asked = [c for c in uow.reports.calls if c[0] == "records"]
    assert asked == [
        (
            "records",
            "cameras.online_hours",
            MARCH,
            "003",
            None,
            3,
            None,
        ),  # one more than a page: is there more?
        ("records", "cameras.online_hours", MARCH, "003", "id-2", 3, None),
    ]

    # A token is bound to its query: another district cannot continue it.
    elsewhere = RecordsQuery(**{**vars(query), "district_code": "004", "token": first.next_page_token})
    with pytest.raises(InvalidArgument):
        await figure_records(uow, elsewhere, who(ADMIN))


async def test_the_drill_down_of_a_breakdown_entry() -> None:
    uow = FakeReviewUnitOfWork()
    query = RecordsQuery("violations.opened", MARCH.start, MARCH.end, dimension="kind", key="intrusion")
    found = await figure_records(uow, query, who(POLICE))
    assert (found.records, found.next_page_token) == ([], "")
    assert uow.reports.calls == [("records", "violations.opened", MARCH, "", None, 51, ("kind", "intrusion"))]


# --- the projection status ----------------------------------------------------------------------------------


async def test_the_projection_status_is_the_repositorys() -> None:
    uow = FakeReviewUnitOfWork()
    at = datetime(2019, 3, 1, tzinfo=UTC)
    uow.reports.status = ProjectionStatus(
        streams=[StreamStatus("d07.registry.units.v1", 7, at, [PartitionOffset(0, 41)])],
        units=5, cameras=2, violations=1,
    )  # fmt: skip
    assert await projection_status(uow, StatusQuery(), who(AUDITOR)) == uow.reports.status
    assert uow.reports.calls == [("projection_status",)]
