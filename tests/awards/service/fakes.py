"""In-memory repositories and units of work of the awards handlers (only what the handlers use), and a
small world to start from: the two award forms, a round open today, a unit whose records pass every rule."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta

from awards.certificates.domain import CertificateFacts, IssuableAward
from awards.certificates.service import CertificatesUnitOfWork
from awards.forms.domain import AwardForm
from awards.nominations.domain import (
    PENDING,
    AssessmentFact,
    Award,
    Facts,
    GuardFact,
    Nomination,
    Nominee,
    Quota,
    Round,
    RuleOutcome,
)
from awards.nominations.service import NominationsUnitOfWork
from tests.support.uow import NOW, FakeRepository, FakeUnitOfWork

MERIT = AwardForm("merit", "Bằng khen", "Chủ tịch Ủy ban nhân dân tỉnh", "chairman_office")
COMMENDATION = AwardForm("commendation", "Giấy khen", "Giám đốc Công an tỉnh", "police")
TODAY = date(2026, 12, 3)  # NOW in the province
COUNCIL = ("council-a", "council-b", "council-c")


class FakeFormRepository(FakeRepository):
    def __init__(self) -> None:
        self.forms = {f.code: f for f in (MERIT, COMMENDATION)}

    async def all(self) -> list[AwardForm]:
        return sorted(self.forms.values(), key=lambda f: f.code)

    async def get(self, code: str) -> AwardForm | None:
        return self.forms.get(code)


class FakeRoundRepository(FakeRepository):
    def __init__(self) -> None:
        self.rounds: dict[uuid.UUID, Round] = {}

    async def insert(self, r: Round, *, opened_by: str) -> None:
        self.rounds[r.id] = r

    async def get(self, round_id: uuid.UUID) -> Round | None:
        return self.rounds.get(round_id)


class FakeNominationRepository(FakeRepository):
    def __init__(self) -> None:
        self.nominations: dict[uuid.UUID, Nomination] = {}
        self.votes: dict[uuid.UUID, dict[str, bool]] = {}
        # What the read models know, per unit (assessments and violations) and per guard.
        self.records: dict[uuid.UUID, Facts] = {}
        self.guard_names: dict[uuid.UUID, str] = {}

    async def facts(
        self, round_: Round, form_code: str, nominee: Nominee, *, exclude: uuid.UUID | None = None
    ) -> Facts:
        known = self.records.get(nominee.unit_id, Facts())
        same = [
            f"nomination:{n.nomination_id}"
            for n in self.nominations.values()
            if n.round_id == round_.id and n.form_code == form_code and n.nominee.key() == nominee.key()
            and n.status != "rejected" and n.nomination_id != exclude
        ]  # fmt: skip
        return Facts(
            assessments=list(known.assessments), violations=list(known.violations), guard=known.guard,
            completed_attendances=list(known.completed_attendances), same_form=same,
        )  # fmt: skip

    async def guard(self, guard_id: uuid.UUID) -> GuardFact | None:
        return next(
            (f.guard for f in self.records.values() if f.guard and f.guard.guard_id == guard_id), None
        )

    async def guard_name(self, guard_id: uuid.UUID) -> str | None:
        return self.guard_names.get(guard_id)

    async def insert(self, n: Nomination) -> bool:
        taken = any(
            o.round_id == n.round_id and o.form_code == n.form_code and o.nominee.key() == n.nominee.key()
            and o.status != "rejected"
            for o in self.nominations.values()
        )  # fmt: skip
        if taken:
            return False
        self.nominations[n.nomination_id] = replace(n, version=1)
        return True

    def _counted(self, n: Nomination) -> Nomination:
        votes = self.votes.get(n.nomination_id, {})
        return replace(n, votes_for=sum(votes.values()), votes_against=sum(not v for v in votes.values()))

    async def get(self, nomination_id: uuid.UUID, *, lock: bool = False) -> Nomination | None:
        n = self.nominations.get(nomination_id)
        return self._counted(n) if n is not None else None

    async def of_round(
        self, round_id: uuid.UUID, status: str | None, unit_id: uuid.UUID | None
    ) -> list[Nomination]:
        return [
            self._counted(n)
            for n in self.nominations.values()
            if n.round_id == round_id and status in (None, n.status) and unit_id in (None, n.unit_id)
        ]

    async def pending_of_unit(self, unit_id: uuid.UUID) -> list[uuid.UUID]:
        return [
            n.nomination_id for n in self.nominations.values() if n.unit_id == unit_id and n.status in PENDING
        ]

    async def set_status(
        self,
        nomination_id: uuid.UUID,
        status: str,
        *,
        outcomes: list[RuleOutcome] | None = None,
        rejected_reason: str | None = None,
    ) -> None:
        n = self.nominations[nomination_id]
        changes: dict[str, object] = {"status": status, "version": n.version + 1}
        if outcomes is not None:
            changes.update(eligibility=tuple(outcomes), needs_review=False, review_reason=None)
        if rejected_reason is not None:
            changes["rejected_reason"] = rejected_reason
        self.nominations[nomination_id] = replace(n, **changes)  # type: ignore[arg-type]

    async def add_vote(self, nomination_id: uuid.UUID, member: str, approve: bool) -> bool:
        votes = self.votes.setdefault(nomination_id, {})
        if member in votes:
            return False
        votes[member] = approve
        return True

    async def flag_pending(self, nomination_id: uuid.UUID, reason: str) -> bool:
        n = self.nominations[nomination_id]
        if n.status not in PENDING or n.review_reason == reason:
            return False
        self.nominations[nomination_id] = replace(
            n, needs_review=True, review_reason=reason, version=n.version + 1
        )
        return True


class FakeAwardRepository(FakeRepository):
    def __init__(self) -> None:
        self.awards: dict[uuid.UUID, Award] = {}

    async def lock_quota(self, round_id: uuid.UUID, form_code: str, recipient_kind: str) -> int:
        return sum(
            a.round_id == round_id and a.form_code == form_code and a.recipient_kind == recipient_kind
            and a.status == "decided"
            for a in self.awards.values()
        )  # fmt: skip

    async def insert(self, a: Award) -> None:
        self.awards[a.id] = a

    async def get(self, award_id: uuid.UUID, *, lock: bool = False) -> Award | None:
        return self.awards.get(award_id)

    async def of_round(self, round_id: uuid.UUID) -> list[Award]:
        return [a for a in self.awards.values() if a.round_id == round_id]

    async def revoke(self, award_id: uuid.UUID, reason: str) -> None:
        self.awards[award_id] = replace(self.awards[award_id], status="revoked", revoked_reason=reason)


class FakeNominationsUnitOfWork(FakeUnitOfWork, NominationsUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/awards")
        self.rounds = FakeRoundRepository()  # type: ignore[assignment]
        self.nominations = FakeNominationRepository()  # type: ignore[assignment]
        self.awards = FakeAwardRepository()  # type: ignore[assignment]
        self.forms = FakeFormRepository()  # type: ignore[assignment]

    # --- a world to start from ----------------------------------------------------------------------------

    def round(self, *, historical: bool = False, quota: int = 5, opens: date | None = None) -> Round:
        """A round of the 2014-2019 period taking nominations today (or, historical, in 2019)."""
        start = opens or (date(2019, 7, 1) if historical else TODAY - timedelta(days=2))
        r = Round(
            id=uuid.uuid4(), title="Sơ kết 5 năm", period_start=date(2014, 8, 15),
            period_end=date(2019, 8, 29), nominations_open=start,
            nominations_close=start + timedelta(days=30), min_passed_years=3,
            require_training=False, council_members=COUNCIL,
            quotas=(Quota("merit", "collective", quota), Quota("commendation", "collective", quota)),
            historical=historical,
        )  # fmt: skip
        self.rounds.rounds[r.id] = r  # type: ignore[attr-defined]
        return r

    def passing_unit(self) -> uuid.UUID:
        """A unit that passed its assessments in 2015-2017 and has no open violation."""
        unit_id = uuid.uuid4()
        self.nominations.records[unit_id] = Facts(  # type: ignore[attr-defined]
            assessments=[AssessmentFact(uuid.uuid4(), y, "passed") for y in (2015, 2016, 2017)]
        )
        return unit_id

    def nomination(
        self,
        round_: Round,
        *,
        status: str = "draft",
        form: str = "merit",
        unit_id: uuid.UUID | None = None,
        proposer: str = "unit-officer",
        votes: dict[str, bool] | None = None,
        nominated_on: date | None = None,
    ) -> Nomination:
        """A collective nomination of a passing unit, at `status`, with the council's `votes`."""
        n = Nomination(
            nomination_id=uuid.uuid4(), round_id=round_.id, form_code=form, recipient_kind="collective",
            unit_id=unit_id or self.passing_unit(), guard_id=None, person_name=None,
            achievements="Có thành tích xuất sắc", proposer=proposer, status=status,
            nominated_on=nominated_on,
        )  # fmt: skip
        self.nominations.nominations[n.nomination_id] = n  # type: ignore[attr-defined]
        if votes:
            self.nominations.votes[n.nomination_id] = dict(votes)  # type: ignore[attr-defined]
        return n

    def award(self, round_: Round, *, form: str = "merit", status: str = "decided") -> Award:
        n = self.nomination(round_, status="decided", form=form)
        a = Award(
            id=uuid.uuid4(), nomination_id=n.nomination_id, round_id=round_.id, form_code=form,
            recipient_kind="collective", unit_id=n.unit_id, person_name=None, decision_number="12/QĐ-UBND",
            decided_on=date(2019, 8, 29), signer="Nguyễn Văn Bình",
            issuer=MERIT.issuer if form == "merit" else COMMENDATION.issuer, status=status,
            revoked_reason="sai sót" if status == "revoked" else None,
        )  # fmt: skip
        self.awards.awards[a.id] = a  # type: ignore[attr-defined]
        return a


# --- certificates -------------------------------------------------------------------------------------------


class FakeCertificateRepository(FakeRepository):
    def __init__(self) -> None:
        self.awards: dict[uuid.UUID, IssuableAward] = {}

    def _sorted(self, found: list[IssuableAward]) -> list[IssuableAward]:
        return sorted(
            found, key=lambda a: (a.form_code, a.recipient_kind, a.unit_name, a.person_name, a.award_id)
        )

    async def awards_by_ids(self, award_ids: list[uuid.UUID]) -> list[IssuableAward]:
        return self._sorted([a for a in self.awards.values() if a.award_id in award_ids])

    async def awards_of_decision(self, decision_number: str) -> list[IssuableAward]:
        return self._sorted([a for a in self.awards.values() if a.decision_number == decision_number])

    async def insert_many(
        self, rows: list[tuple[uuid.UUID, uuid.UUID, str]], *, issued_by: str, issued_at: datetime
    ) -> None:
        for cid, aid, code in rows:
            self.awards[aid] = replace(self.awards[aid], certificate_id=cid, code=code, issued_at=issued_at)

    def _certificates(self) -> list[CertificateFacts]:
        return [a.certificate() for a in self._sorted(list(self.awards.values())) if a.certificate_id]

    async def get(self, certificate_id: uuid.UUID) -> CertificateFacts | None:
        return next((c for c in self._certificates() if c.certificate_id == certificate_id), None)

    async def by_code(self, code: str) -> CertificateFacts | None:
        return next((c for c in self._certificates() if c.code == code), None)

    async def of_decision(self, decision_number: str) -> list[CertificateFacts]:
        return [
            c for c in self._certificates() if c.decision_number == decision_number and c.status == "decided"
        ]


class FakeCertificatesUnitOfWork(FakeUnitOfWork, CertificatesUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/awards")
        self.certificates = FakeCertificateRepository()  # type: ignore[assignment]

    def award(
        self, *, form: str = "merit", decision: str = "1234/QĐ-UBND", status: str = "decided",
        unit_name: str = "Trường THPT Nguyễn Trãi",
    ) -> IssuableAward:  # fmt: skip
        a = IssuableAward(
            award_id=uuid.uuid4(), form_code=form, recipient_kind="collective", unit_id=uuid.uuid4(),
            unit_name=unit_name, person_name="", achievement="xuất sắc", decision_number=decision,
            decided_on=date(2019, 8, 29), signer="Nguyễn Văn Bình",
            issuer=MERIT.issuer if form == "merit" else COMMENDATION.issuer, status=status,
        )  # fmt: skip
        self.certificates.awards[a.award_id] = a  # type: ignore[attr-defined]
        return a


__all__ = ["NOW"]
