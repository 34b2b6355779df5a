"""Nominations against the five running services: eligibility from the records awards keeps from events,
the council and the quota at decision time, the review flag a later violation raises, and reporting's counts.

To create records fast, the tests publish the producers' events themselves (AssessmentFinalised on
`d07.assessment.assessments.v1`, ViolationOpened on `d07.cameras.violations.v1`, GuardRegistered on
`d07.registry.forces.v1`) with a plain aiokafka producer and the platform's CloudEvents headers
(`make_headers`), which is what the producers' outbox relays put on the wire.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from google.protobuf.message import Message

from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2, awards_pb2_grpc
from d07.cameras.v1 import violation_events_pb2 as vpb
from d07.platform.events.envelope import make_headers
from d07.platform.grpc import client_channel, status_details
from d07.platform.uow import vietnam_today
from d07.registry.v1 import forces_pb2
from tests.support.services import Platform
from tests.support.waiting import eventually

ADMIN_SUBJECT = "bcd138-secretariat"
COUNCIL = ["council-a", "council-b", "council-c"]
PERIOD = ("2014-08-15", "2019-08-29")


def today_vn() -> str:
    """Today in the province: a live round's decisions are dated between its nominations (today) and today."""
    return vietnam_today(datetime.now(UTC)).isoformat()


PASSED, FAILED = assessment_pb2.ASSESSMENT_RESULT_PASSED, assessment_pb2.ASSESSMENT_RESULT_FAILED


@pytest.fixture(scope="module")
async def producer(platform: Platform) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=platform.bootstrap, acks="all")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def publish(producer: AIOKafkaProducer, topic: str, key: str, message: Message, source: str) -> None:
    headers = make_headers(
        event_id=uuid.uuid4(),
        event_type=message.DESCRIPTOR.full_name,
        source=source,
        subject=key,
        time=datetime.now(UTC),
    )
    await producer.send_and_wait(topic, message.SerializeToString(), key=key.encode(), headers=headers)


async def finalise(producer: AIOKafkaProducer, unit_id: str, year: int, result: int) -> str:
    assessment_id = str(uuid.uuid4())
    a = assessment_pb2.Assessment(id=assessment_id, unit_id=unit_id, year=year, result=result, revision=1)
    await publish(
        producer, "d07.assessment.assessments.v1", unit_id, assessment_pb2.AssessmentFinalised(assessment=a),
        "/d07/assessment",
    )  # fmt: skip
    return assessment_id


async def open_violation(producer: AIOKafkaProducer, unit_id: str) -> str:
    violation_id = str(uuid.uuid4())
    v = vpb.Violation(
        id=violation_id, unit_id=unit_id, kind="intrusion", priority=vpb.VIOLATION_PRIORITY_CRITICAL,
        status=vpb.VIOLATION_STATUS_NEW, version=1,
    )  # fmt: skip
    v.opened_at.FromDatetime(datetime(2019, 3, 2, 8, 0, tzinfo=UTC))
    await publish(
        producer, "d07.cameras.violations.v1", violation_id, vpb.ViolationOpened(violation=v), "/d07/cameras"
    )
    return violation_id


async def passing_unit(producer: AIOKafkaProducer, years: tuple[int, ...] = (2015, 2016, 2017)) -> str:
    unit_id = str(uuid.uuid4())
    for y in years:
        await finalise(producer, unit_id, y, PASSED)
    return unit_id


def client(platform: Platform) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=platform["awards"].url, timeout=10)


def h(
    platform: Platform, role: str, subject: str | None = None, unit_id: str | None = None
) -> dict[str, str]:
    kw: dict[str, str] = {}
    if unit_id:
        kw["unit_id"] = unit_id
    return {"Authorization": f"Bearer {platform.token(role, subject=subject, **kw)}"}


async def open_round(
    platform: Platform, quotas: list[tuple[str, str, int]], *, historical: bool = False
) -> str:
    today = datetime.now(UTC).date()
    window = ("2019-07-01", "2019-08-20") if historical else (
        (today - timedelta(days=2)).isoformat(), (today + timedelta(days=30)).isoformat()
    )  # fmt: skip
    body = {
        "title": "Khen thưởng sơ kết 5 năm thực hiện Chỉ thị 07 (2014-2019)",
        "period_start": PERIOD[0],
        "period_end": PERIOD[1],
        "nominations_open": window[0],
        "nominations_close": window[1],
        "historical": historical,
        "min_passed_years": 3,
        "council_members": COUNCIL,
        "quotas": [{"form_code": f, "recipient_kind": k, "quota": q} for f, k, q in quotas],
    }
    async with client(platform) as c:
        r = await c.post("/v1/award-rounds", json=body, headers=h(platform, "admin", ADMIN_SUBJECT))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def nominate(
    platform: Platform,
    round_id: str,
    unit_id: str,
    *,
    form: str = "merit",
    person: dict[str, str] | None = None,
    nominated_on: str | None = None,
) -> httpx.Response:
    nominee = {
        "recipient_kind": "individual" if person else "collective",
        "unit_id": unit_id,
        **(person or {}),
    }
    body = {
        "form_code": form,
        "nominee": nominee,
        "achievements": "Có thành tích xuất sắc trong phong trào toàn dân bảo vệ ANTQ",
        **({"nominated_on": nominated_on} if nominated_on else {}),
    }
    async with client(platform) as c:
        return await c.post(
            f"/v1/award-rounds/{round_id}/nominations",
            json=body,
            headers=h(platform, "unit_officer", unit_id=unit_id),
        )


async def submit(platform: Platform, nomination_id: str, unit_id: str) -> httpx.Response:
    async with client(platform) as c:
        return await c.post(
            f"/v1/nominations/{nomination_id}/submit", headers=h(platform, "unit_officer", unit_id=unit_id)
        )


async def known_results(platform: Platform, round_id: str, unit_id: str, n: int) -> None:
    """Wait until awards has consumed the unit's results (the eligibility check shows them)."""

    async def seen() -> bool:
        async with client(platform) as c:
            r = await c.post(
                f"/v1/award-rounds/{round_id}/eligibility",
                json={"form_code": "merit", "nominee": {"recipient_kind": "collective", "unit_id": unit_id}},
                headers=h(platform, "admin"),
            )
        rule = next(o for o in r.json()["rules"] if o["rule"] == "passed_assessments")
        return len(rule["sources"]) >= n

    await eventually(seen)


async def test_collective_that_failed_its_assessments_cannot_be_submitted(
    platform: Platform, producer: AIOKafkaProducer
) -> None:
    round_id = await open_round(platform, [("merit", "collective", 8)])
    unit_id = str(uuid.uuid4())
    failed = [await finalise(producer, unit_id, y, FAILED) for y in (2015, 2016, 2017)]
    await finalise(producer, unit_id, 2018, PASSED)
    await known_results(platform, round_id, unit_id, 3)
    created = await nominate(platform, round_id, unit_id)
    assert created.status_code == 201, created.text
    r = await submit(platform, created.json()["id"], unit_id)
    assert r.status_code == 409
    problem = r.json()
    assert problem["code"] == "ineligible"
    fields = {f["field"]: f["reason"] for f in problem["fields"]}
    assert set(fields) == {"eligibility.passed_assessments"}
    for assessment_id in failed:
        assert f"assessment:{assessment_id}" in fields["eligibility.passed_assessments"]
    async with client(platform) as c:
        still = await c.get(f"/v1/nominations/{created.json()['id']}", headers=h(platform, "admin"))
    assert still.json()["status"] == "draft"


async def test_collective_with_an_unresolved_serious_violation_cannot_be_submitted(
    platform: Platform, producer: AIOKafkaProducer
) -> None:
    round_id = await open_round(platform, [("merit", "collective", 8)])
    unit_id = await passing_unit(producer)
    violation_id = await open_violation(producer, unit_id)
    await known_results(platform, round_id, unit_id, 3)
    created = await nominate(platform, round_id, unit_id)

    async def refused() -> httpx.Response | None:
        r = await submit(platform, created.json()["id"], unit_id)
        return r if r.status_code == 409 else None

    problem = (await eventually(refused)).json()
    fields = {f["field"]: f["reason"] for f in problem["fields"]}
    assert set(fields) == {"eligibility.no_unresolved_serious_violation"}
    assert f"violation:{violation_id}" in fields["eligibility.no_unresolved_serious_violation"]


async def _to_council(platform: Platform, nomination_id: str) -> None:
    async with client(platform) as c:
        for step in ("screen", "council"):
            r = await c.post(
                f"/v1/nominations/{nomination_id}/{step}", headers=h(platform, "admin", ADMIN_SUBJECT)
            )
            assert r.status_code == 200, r.text


async def _approve(platform: Platform, nomination_id: str, members: list[str]) -> None:
    async with client(platform) as c:
        for m in members:
            r = await c.post(
                f"/v1/nominations/{nomination_id}/votes",
                json={"approve": True},
                headers=h(platform, "admin", m),
            )
            assert r.status_code == 200, r.text


async def test_quota_of_8_refuses_the_9th_decision_and_reporting_counts(
    platform: Platform, producer: AIOKafkaProducer
) -> None:
    round_id = await open_round(platform, [("merit", "collective", 8), ("merit", "individual", 8)])
    units = [await passing_unit(producer) for _ in range(9)]
    for u in units:
        await known_results(platform, round_id, u, 3)
    nominations = []
    for u in units:
        created = await nominate(platform, round_id, u)
        assert created.status_code == 201, created.text
        assert (await submit(platform, created.json()["id"], u)).status_code == 200
        await _to_council(platform, created.json()["id"])
        await _approve(platform, created.json()["id"], COUNCIL[:2])
        nominations.append(created.json()["id"])
    decided = []
    async with client(platform) as c:
        for i, n in enumerate(nominations):
            r = await c.post(
                f"/v1/nominations/{n}/decision",
                json={
                    "decision_number": f"{100 + i}/QĐ-UBND",
                    "decided_on": today_vn(),
                    "signer": "Nguyễn Văn A",
                },
                headers=h(platform, "chairman_office"),
            )
            decided.append(r)
        # police decide commendations, not certificates of merit
        wrong_role = await c.post(
            f"/v1/nominations/{nominations[8]}/decision",
            json={"decision_number": "1/QĐ-CAT", "decided_on": today_vn(), "signer": "B"},
            headers=h(platform, "police"),
        )
    assert [r.status_code for r in decided] == [201] * 8 + [409]
    assert decided[8].json()["code"] == "quota_reached"
    assert wrong_role.status_code == 403
    award = decided[0].json()
    assert award["issuer"] == "Chủ tịch Ủy ban nhân dân tỉnh"
    assert award["status"] == "decided"

    # a revoked award frees its place and stops counting in reporting
    async with client(platform) as c:
        revoked = await c.post(
            f"/v1/awards/{award['id']}/revocation", json={"reason": "Phát hiện vi phạm sau khi khen"},
            headers=h(platform, "chairman_office"),
        )  # fmt: skip
        assert revoked.status_code == 200
        assert revoked.json()["status"] == "revoked"
    reporting = httpx.AsyncClient(base_url=platform["reporting"].url, timeout=10)

    async def counted() -> list[dict[str, Any]] | None:
        r = await reporting.get(f"/v1/awards/counts?round_id={round_id}", headers=h(platform, "admin"))
        body: list[dict[str, Any]] = r.json()
        return body if body == [{"form_code": "merit", "recipient_kind": "collective", "awards": 7}] else None

    try:
        await eventually(counted)
    finally:
        await reporting.aclose()


async def test_a_closed_window_refuses_nominations_unless_the_round_is_entered_from_records(
    platform: Platform, producer: AIOKafkaProducer
) -> None:
    """The 2014-2019 review's decisions were taken on paper in 2019: a round entered from those records takes
    nominations dated inside its window (the paper's day), never today's; an ordinary round with that window
    refuses them. No decision of either may be dated after today."""
    unit = await passing_unit(producer)
    current = await open_round(platform, [("merit", "collective", 8)])
    await known_results(platform, current, unit, 3)
    past = await open_round(platform, [("merit", "collective", 8)], historical=True)
    async with client(platform) as c:
        body = (await c.get(f"/v1/award-rounds/{past}", headers=h(platform, "admin"))).json()
    assert body["historical"] is True
    assert body["nominations_close"] == "2019-08-20"

    closed = dict(await _round_body(platform, past), historical=False)
    async with client(platform) as c:
        r = await c.post("/v1/award-rounds", json=closed, headers=h(platform, "admin", ADMIN_SUBJECT))
    ordinary = r.json()["id"]
    refused = await nominate(platform, ordinary, unit)
    assert refused.status_code == 409
    assert refused.json()["code"] == "window_closed"

    today = await nominate(platform, past, unit)  # dated today: not from the paper records
    assert (today.status_code, today.json()["code"]) == (409, "window_closed")
    created = await nominate(platform, past, unit, nominated_on="2019-07-02")
    assert created.status_code == 201, created.text
    assert (await submit(platform, created.json()["id"], unit)).status_code == 200
    await _to_council(platform, created.json()["id"])
    await _approve(platform, created.json()["id"], COUNCIL[:2])
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    async with client(platform) as c:
        future = await c.post(
            f"/v1/nominations/{created.json()['id']}/decision",
            json={"decision_number": "7/QĐ-UBND", "decided_on": tomorrow, "signer": "Nguyễn Văn A"},
            headers=h(platform, "chairman_office"),
        )
        decided = await c.post(
            f"/v1/nominations/{created.json()['id']}/decision",
            json={"decision_number": "7/QĐ-UBND", "decided_on": "2019-08-29", "signer": "Nguyễn Văn A"},
            headers=h(platform, "chairman_office"),
        )
    assert future.status_code == 400
    assert future.json()["code"] == "decision_in_future"
    assert decided.status_code == 201, decided.text
    assert decided.json()["decided_on"] == "2019-08-29"


async def _round_body(platform: Platform, round_id: str) -> dict[str, Any]:
    async with client(platform) as c:
        r = (await c.get(f"/v1/award-rounds/{round_id}", headers=h(platform, "admin"))).json()
    keep = ("title", "period_start", "period_end", "nominations_open", "nominations_close",
            "min_passed_years", "council_members", "quotas")  # fmt: skip
    return {k: r[k] for k in keep}


async def test_council_member_does_not_vote_on_own_nomination(
    platform: Platform, producer: AIOKafkaProducer
) -> None:
    round_id = await open_round(platform, [("commendation", "collective", 14)])
    unit_id = await passing_unit(producer)
    await known_results(platform, round_id, unit_id, 3)
    async with client(platform) as c:
        body = {
            "form_code": "commendation",
            "nominee": {"recipient_kind": "collective", "unit_id": unit_id},
            "achievements": "Đơn vị tiêu biểu",
        }
        created = await c.post(
            f"/v1/award-rounds/{round_id}/nominations", json=body, headers=h(platform, "admin", COUNCIL[0])
        )
        n = created.json()["id"]
        assert (
            await c.post(f"/v1/nominations/{n}/submit", headers=h(platform, "admin", COUNCIL[0]))
        ).status_code == 200
    await _to_council(platform, n)
    async with client(platform) as c:
        own = await c.post(
            f"/v1/nominations/{n}/votes", json={"approve": True}, headers=h(platform, "admin", COUNCIL[0])
        )
        assert own.status_code == 403
        assert own.json()["code"] == "own_nomination"
        outsider = await c.post(
            f"/v1/nominations/{n}/votes", json={"approve": True}, headers=h(platform, "admin", "x")
        )
        assert outsider.status_code == 403
    await _approve(platform, n, COUNCIL[1:])
    async with client(platform) as c:
        r = await c.post(
            f"/v1/nominations/{n}/decision",
            json={"decision_number": "55/QĐ-CAT", "decided_on": today_vn(), "signer": "Trần Văn B"},
            headers=h(platform, "police"),
        )
    assert r.status_code == 201, r.text
    assert r.json()["issuer"] == "Giám đốc Công an tỉnh"


async def test_same_person_cannot_be_nominated_twice_for_the_same_form(
    platform: Platform, producer: AIOKafkaProducer
) -> None:
    round_id = await open_round(platform, [("merit", "individual", 8)])
    unit_id = await passing_unit(producer)
    guard_id = str(uuid.uuid4())
    g = forces_pb2.Guard(
        id=guard_id,
        unit_id=unit_id,
        full_name="Lê Thị Hương",
        status=forces_pb2.GUARD_STATUS_ACTIVE,
        version=1,
    )
    await publish(
        producer, "d07.registry.forces.v1", guard_id, forces_pb2.GuardRegistered(guard=g), "/d07/registry"
    )

    async def registered() -> bool:
        async with client(platform) as c:
            r = await c.post(
                f"/v1/award-rounds/{round_id}/eligibility",
                json={
                    "form_code": "merit",
                    "nominee": {"recipient_kind": "individual", "unit_id": unit_id, "guard_id": guard_id},
                },
                headers=h(platform, "admin"),
            )
        return next(o["passed"] for o in r.json()["rules"] if o["rule"] == "registered")

    await eventually(registered)
    first = await nominate(platform, round_id, unit_id, person={"guard_id": guard_id})
    assert first.status_code == 201, first.text
    assert first.json()["nominee"]["person_name"] == "Lê Thị Hương"
    assert (await submit(platform, first.json()["id"], unit_id)).status_code == 200
    again = await nominate(platform, round_id, unit_id, person={"guard_id": guard_id})
    assert again.status_code == 409
    fields = {f["field"]: f["reason"] for f in again.json()["fields"]}
    assert f"nomination:{first.json()['id']}" in fields["eligibility.once_per_form"]
    # a named officer is the same person however the name is spaced or cased
    officer = await nominate(platform, round_id, unit_id, person={"person_name": "Phạm  Văn Đức"})
    assert officer.status_code == 201
    twice = await nominate(platform, round_id, unit_id, person={"person_name": "phạm văn đức"})
    assert twice.status_code == 409
    # another form is another matter
    other = await nominate(platform, round_id, unit_id, form="commendation", person={"guard_id": guard_id})
    assert other.status_code == 201


async def test_new_serious_violation_after_nomination_flags_it(
    platform: Platform, producer: AIOKafkaProducer
) -> None:
    round_id = await open_round(platform, [("merit", "collective", 8)])
    unit_id = await passing_unit(producer)
    await known_results(platform, round_id, unit_id, 3)
    created = await nominate(platform, round_id, unit_id)
    n = created.json()["id"]
    assert (await submit(platform, n, unit_id)).status_code == 200
    violation_id = await open_violation(producer, unit_id)

    async def flagged() -> dict[str, Any] | None:
        async with client(platform) as c:
            r = await c.get(f"/v1/nominations/{n}", headers=h(platform, "admin"))
        body: dict[str, Any] = r.json()
        return body if body["needs_review"] else None

    body = await eventually(flagged)
    assert "no_unresolved_serious_violation" in body["review_reason"]
    assert f"violation:{violation_id}" in body["review_reason"]
    assert body["status"] == "submitted"
    async with client(platform) as c:
        r = await c.post(f"/v1/nominations/{n}/screen", headers=h(platform, "admin", ADMIN_SUBJECT))
    assert r.status_code == 409
    assert r.json()["code"] == "ineligible"


async def test_grpc_submission_of_an_ineligible_collective_is_failed_precondition(
    platform: Platform, producer: AIOKafkaProducer
) -> None:
    round_id = await open_round(platform, [("merit", "collective", 8)])
    unit_id = str(uuid.uuid4())
    failed = await finalise(producer, unit_id, 2016, FAILED)
    await known_results(platform, round_id, unit_id, 1)
    channel = client_channel(platform["awards"].target, token=platform.token("unit_officer", unit_id=unit_id))
    try:
        stub = awards_pb2_grpc.AwardsServiceStub(channel)
        created = await stub.CreateNomination(
            awards_pb2.CreateNominationRequest(
                round_id=round_id,
                form_code="merit",
                nominee=awards_pb2.Nominee(recipient_kind="collective", unit_id=unit_id),
                achievements="Đơn vị có nhiều đóng góp",
            )
        )
        assert created.nomination.status == "draft"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SubmitNomination(awards_pb2.SubmitNominationRequest(id=created.nomination.id))
    finally:
        await channel.close()
    details = status_details(err.value)
    assert details["code"] == "FAILED_PRECONDITION"
    assert details["reason"] == "ineligible"
    violations = {v["field"]: v["description"] for v in details["field_violations"]}
    assert set(violations) == {"eligibility.passed_assessments"}
    assert f"assessment:{failed}" in violations["eligibility.passed_assessments"]
