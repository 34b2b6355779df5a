"""Load a generated province into a running platform through its public HTTP APIs, never by writing tables.

Every record goes through the door a person or a provincial system would use, with the role that person has:
the secretariat (admin) registers units and opens rounds, each unit's officer submits its own self-assessment
and acknowledges documents, the police verify and finalise, DIC operators register cameras, gateways send
heartbeats and detections, the council votes, the Chairman's office and the Police Director decide awards.
Where a step needs what another service learns from events (assessment's units, awards' facts), the loader
waits until that service answers with it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from d07.demo import plan as P
from d07.demo.client import ApiClient, ApiError, Urls

__all__ = [
    "ApiError",
    "LoadError",
    "Loaded",
    "Loader",
    "NotEmpty",
    "Urls",
    "flat",
    "review",
    "wait_for_figures",
]

T = TypeVar("T")
POLICE = "csqlhc-xac-minh"  # the police officer who verifies assessments and handles violations
SECRETARIAT = "bcd138-thu-ky"


class LoadError(RuntimeError):
    """The province did not load as planned (a call refused is an `ApiError`, re-exported here)."""


class NotEmpty(RuntimeError):
    """The platform already holds units: the demo province loads into an empty platform only."""


@dataclass
class Loaded:
    """What the load made: server ids by the plan's keys, and how long each step took."""

    units: dict[str, str] = field(default_factory=dict)
    guards: dict[str, str] = field(default_factory=dict)
    awards: list[str] = field(default_factory=list)
    violations: int = 0
    calls: int = 0
    steps: list[tuple[str, int, float]] = field(default_factory=list)


class Loader:
    """Loads a province through `api` (`d07.demo.client`), each call as the role that makes it."""

    def __init__(self, urls: Urls, key_pem: bytes, *, concurrency: int = 16, timeout: float = 30.0) -> None:
        self.urls = urls
        self.api = ApiClient(urls, key_pem, concurrency=concurrency, timeout=timeout)
        self.loaded = Loaded()

    async def aclose(self) -> None:
        await self.api.aclose()

    # --- calls ----------------------------------------------------------------------------------------------

    def token(self, role: str, subject: str = "", unit_id: str = "") -> str:
        return self.api.token(role, unit_id=unit_id or None, subject=subject)

    async def call(
        self,
        method: str,
        url: str,
        *,
        role: str,
        subject: str = "",
        unit_id: str = "",
        json: Any = None,
        ok: Iterable[int] = (200, 201),
        what: str = "",
    ) -> Any:
        """One call as `role`; ApiError (with the problem body) when the status is not in `ok`."""
        client = self.api.as_role(role, unit_id or None, subject=subject)
        try:
            return await client.call(method, url, json=json, ok=ok, what=what)
        finally:
            self.loaded.calls = self.api.calls

    async def each(self, items: Sequence[T], work: Callable[[T], Awaitable[Any]]) -> list[Any]:
        """`work` for every item, concurrently up to the loader's limit; the results in order."""
        return list(await asyncio.gather(*(work(i) for i in items)))

    async def until(self, what: str, check: Callable[[], Awaitable[bool]], *, within: float = 300.0) -> None:
        deadline = time.monotonic() + within
        while not await check():
            if time.monotonic() > deadline:
                raise LoadError(f"{what}: not reached within {within:.0f} s")
            await asyncio.sleep(0.5)

    async def step(self, name: str, work: Awaitable[int]) -> None:
        started = time.monotonic()
        count = await work
        took = time.monotonic() - started
        self.loaded.steps.append((name, count, took))
        print(f"  {name:<44} {count:>7}  {took:6.1f} s", flush=True)

    # --- the province ---------------------------------------------------------------------------------------

    async def is_empty(self) -> bool:
        page = await self.call("GET", f"{self.urls.registry}/v1/units?page_size=1", role="admin")
        return not page["items"]

    async def districts(self) -> list[P.District]:
        body: list[dict[str, Any]] = await self.call(
            "GET", f"{self.urls.registry}/v1/divisions", role="admin", what="divisions"
        )
        return P.districts_from(body)

    async def load(self, province: P.Province) -> Loaded:
        p = province
        await self.step("units", self.units(p))
        await self.step("security forces", self.forces(p))
        await self.step("guards", self.guards(p))
        await self.step("documents, distributions, acknowledgements", self.documents(p))
        await self.step("movement models", self.models(p))
        await self.step("training classes, attendances, completions", self.training(p))
        await self.step("installation plan, cameras", self.cameras(p))
        await self.step("assessments (submitted, verified, finalised)", self.assessments(p))
        await self.step("award nominations, council, decisions", self.awards(p))
        await self.step("certificates", self.certificates(p))
        await self.step("heartbeats", self.heartbeats(p))
        await self.step("detections, violation handling", self.detections(p))
        return self.loaded

    async def units(self, p: P.Province) -> int:
        async def one(u: P.Unit) -> None:
            body = {
                "code": u.code,
                "name": u.name,
                "kind": u.kind,
                "sub_kind": u.sub_kind,
                "district_code": u.district_code,
                "commune_code": u.commune_code,
                "address": u.address,
                "head": {"name": u.head_name, "title": u.head_title},
                "contact": {"phone": u.phone, "email": u.email},
                "staff_count": u.staff_count,
            }
            made = await self.call(
                "POST",
                f"{self.urls.registry}/v1/units",
                role="admin",
                subject=SECRETARIAT,
                json=body,
                what=f"unit {u.code}",
            )
            self.loaded.units[u.code] = made["id"]

        await self.each(p.units, one)
        return len(p.units)

    async def forces(self, p: P.Province) -> int:
        async def one(f: P.Force) -> None:
            unit = self.loaded.units[f.unit_code]
            body = {
                "established_on": f.established_on.isoformat(),
                "planned_size": f.planned_size,
                "leader_name": f.leader_name,
                "leader_phone": f.leader_phone,
            }
            await self.call(
                "POST",
                f"{self.urls.registry}/v1/units/{unit}/security-force",
                role="unit_officer",
                unit_id=unit,
                json=body,
                what=f"force of {f.unit_code}",
            )

        await self.each(p.forces, one)
        return len(p.forces)

    async def guards(self, p: P.Province) -> int:
        async def one(g: P.Guard) -> None:
            unit = self.loaded.units[g.unit_code]
            body = {
                "unit_id": unit,
                "full_name": g.full_name,
                "birth_year": g.birth_year,
                "position": g.position,
                "phone": g.phone,
                "joined_on": g.joined_on.isoformat(),
            }
            made = await self.call(
                "POST",
                f"{self.urls.registry}/v1/guards",
                role="unit_officer",
                unit_id=unit,
                json=body,
                what=f"guard {g.key}",
            )
            self.loaded.guards[g.key] = made["id"]

        await self.each(p.guards, one)
        return len(p.guards)

    async def documents(self, p: P.Province) -> int:
        ids: dict[str, str] = {}
        calls = 0
        for d in p.documents:
            body = {
                "number": d.number,
                "kind": d.kind,
                "title": d.title,
                "issued_on": d.issued_on.isoformat(),
                "issuer": d.issuer,
                "summary": d.summary,
                "parent_id": ids.get(d.parent_number, ""),
            }
            made = await self.call(
                "POST",
                f"{self.urls.registry}/v1/documents",
                role="admin",
                subject=SECRETARIAT,
                json=body,
                what=f"document {d.number}",
            )
            ids[d.number] = made["id"]
            await self.call(
                "POST",
                f"{self.urls.registry}/v1/documents/{made['id']}/distributions",
                role="admin",
                subject=SECRETARIAT,
                json={"selector": {}},
                what=f"distribution of {d.number}",
            )
            calls += 2

            async def ack(code: str, doc: str = made["id"]) -> None:
                unit = self.loaded.units[code]
                await self.call(
                    "POST",
                    f"{self.urls.registry}/v1/documents/{doc}/receipts/{unit}/acknowledgement",
                    role="unit_officer",
                    unit_id=unit,
                    json={"note": "Đã nhận và triển khai"},
                    what=f"acknowledgement by {code}",
                )

            await self.each(d.acknowledged_by, ack)
            calls += len(d.acknowledged_by)
        return calls

    async def models(self, p: P.Province) -> int:
        async def one(m: P.Model) -> None:
            host: dict[str, Any] = (
                {"unit_id": self.loaded.units[m.unit_code]}
                if m.unit_code
                else {"commune_code": m.commune_code, "residential_area": m.residential_area}
            )
            body = {
                "name": m.name,
                "kind": m.kind,
                "host": host,
                "formation": m.formation,
                "formed_on": m.formed_on.isoformat(),
                "description": m.description,
            }
            await self.call(
                "POST",
                f"{self.urls.registry}/v1/models",
                role="admin",
                subject=SECRETARIAT,
                json=body,
                what=f"model {m.name}",
            )

        await self.each(p.models, one)
        return len(p.models)

    async def training(self, p: P.Province) -> int:
        base = f"{self.urls.registry}/v1/training/classes"

        async def one(c: P.TrainingClass) -> int:
            body = {
                "title": c.title,
                "organiser": c.organiser,
                "starts_on": c.starts_on.isoformat(),
                "ends_on": c.ends_on.isoformat(),
                "place": c.place,
                "capacity": c.capacity,
                "district_code": c.district_code,
            }
            made = await self.call(
                "POST", base, role="police", subject=POLICE, json=body, what=f"class {c.key}"
            )
            guard_ids = [self.loaded.guards[e.guard_key] for e in c.enrolments]
            enrolled = await self.call(
                "POST",
                f"{base}/{made['id']}/attendances/batch",
                role="police",
                subject=POLICE,
                json={"guard_ids": guard_ids},
                what=f"attendances of {c.key}",
            )
            version = {a["guard_id"]: a["version"] for a in enrolled["items"]}

            async def complete(e: P.Enrolment) -> None:
                guard = self.loaded.guards[e.guard_key]
                await self.call(
                    "PUT",
                    f"{base}/{made['id']}/attendances/{guard}/completion",
                    role="police",
                    subject=POLICE,
                    json={"version": version[guard], "completed": e.completed, "result": e.result},
                    what="completion",
                )

            await self.each(c.enrolments, complete)
            return 2 + len(c.enrolments)

        return sum(await self.each(p.classes, one))

    async def cameras(self, p: P.Province) -> int:
        ip = p.installation_plan
        assert ip is not None
        body = {
            "name": ip.name,
            "target": ip.target,
            "starts_on": ip.starts_on.isoformat(),
            "deadline": ip.deadline.isoformat(),
            "district_targets": ip.district_targets,
        }
        await self.call(
            "POST",
            f"{self.urls.cameras}/v1/installation-plans",
            role="dic_operator",
            json=body,
            what="installation plan",
        )

        async def one(c: P.Camera) -> None:
            body = {
                "code": c.code,
                "name": c.name,
                "latitude": c.latitude,
                "longitude": c.longitude,
                "unit_id": self.loaded.units[c.unit_code] if c.unit_code else "",
                "address": c.address,
                "status": "installed" if c.installed_on else "planned",
                "district_code": c.district_code,
                "commune_code": c.commune_code,
                "agency": "Sở Thông tin và Truyền thông",
                "planned_on": c.planned_on.isoformat(),
                "installed_on": c.installed_on.isoformat() if c.installed_on else None,
            }
            await self.call(
                "POST",
                f"{self.urls.cameras}/v1/cameras",
                role="dic_operator",
                json=body,
                what=f"camera {c.code}",
            )

        await self.each(p.cameras, one)
        return 1 + len(p.cameras)

    async def assessments(self, p: P.Province) -> int:
        in_scope = [u.code for u in p.units if u.in_scope]
        unknown = {self.loaded.units[c] for c in in_scope}

        async def known() -> bool:  # assessment learns units from the registry's events
            async def seen(unit: str) -> str | None:
                r = await self.call(
                    "GET",
                    f"{self.urls.assessment}/v1/known-units/{unit}",
                    role="admin",
                    ok=(200, 404),
                    what="known unit",
                )
                return unit if r and "unit_id" in r else None

            for unit in await self.each(sorted(unknown), seen):
                if unit:
                    unknown.discard(unit)
            return not unknown

        await self.until("assessment knows every unit", known)
        results = {(a.year, self.loaded.units[a.unit_code]): a for a in p.assessments}
        calls = 0
        for year in P.ROUND_YEARS:
            body = {
                "year": year,
                "title": f'Đánh giá, công nhận đạt chuẩn "An toàn về an ninh, trật tự" năm {year}',
                "self_assessment_due": f"{year}-11-30",
                "verification_due": f"{year}-12-20",
            }
            r = await self.call(
                "POST",
                f"{self.urls.assessment}/v1/rounds",
                role="admin",
                subject=SECRETARIAT,
                json=body,
                what=f"round {year}",
            )
            assessments = await self.all_items(
                f"{self.urls.assessment}/v1/assessments?round_id={r['id']}", "admin"
            )
            if len(assessments) != len(in_scope):
                raise LoadError(
                    f"round {year} opened {len(assessments)} assessments, {len(in_scope)} expected"
                )

            async def finish(a: dict[str, Any], year: int = year) -> None:
                planned = results[(year, a["unit_id"])]
                answers = [
                    {"criterion_code": c, "met": True, "notes": "Đơn vị tự đánh giá đạt"} for c in P.CRITERIA
                ]
                url = f"{self.urls.assessment}/v1/assessments/{a['id']}"
                await self.call(
                    "POST",
                    f"{url}:submit",
                    role="unit_officer",
                    unit_id=a["unit_id"],
                    subject=f"can-bo-{a['unit_id'][:8]}",
                    json={"answers": answers},
                    what="submit",
                )
                verdicts = [
                    {
                        "criterion_code": c,
                        "met": c not in planned.unmet,
                        "notes": "Chưa đạt theo kết quả kiểm tra" if c in planned.unmet else "Đạt",
                    }
                    for c in P.CRITERIA
                ]
                await self.call(
                    "POST",
                    f"{url}:verify",
                    role="police",
                    subject=POLICE,
                    json={"verdicts": verdicts},
                    what="verify",
                )
                done = await self.call(
                    "POST", f"{url}:finalise", role="police", subject=POLICE, what="finalise"
                )
                if (done["result"] == "passed") != planned.passed:
                    raise LoadError(
                        f"assessment {a['id']}: {done['result']}, planned passed={planned.passed}"
                    )

            await self.each(assessments, finish)
            calls += 1 + 3 * len(assessments)
        return calls

    async def all_items(self, url: str, role: str, subject: str = "") -> list[dict[str, Any]]:
        try:
            return await self.api.as_role(role, subject=subject).all_items(url)
        finally:
            self.loaded.calls = self.api.calls

    async def awards(self, p: P.Province) -> int:
        r = p.award_round
        assert r is not None
        base = self.urls.awards
        body = {
            "title": r.title,
            "period_start": r.period[0].isoformat(),
            "period_end": r.period[1].isoformat(),
            "nominations_open": r.window[0].isoformat(),
            "nominations_close": r.window[1].isoformat(),
            "min_passed_years": r.min_passed_years,
            "require_training": True,
            "council_members": list(r.council),
            "quotas": [{"form_code": f, "recipient_kind": k, "quota": q} for (f, k), q in r.quotas.items()],
            "historical": True,
        }
        made = await self.call(
            "POST",
            f"{base}/v1/award-rounds",
            role="admin",
            subject=SECRETARIAT,
            json=body,
            what="award round",
        )
        round_id = made["id"]

        def nominee(n: P.Nomination) -> dict[str, Any]:
            out = {"recipient_kind": n.recipient_kind, "unit_id": self.loaded.units[n.unit_code]}
            return out | ({"guard_id": self.loaded.guards[n.guard_key]} if n.guard_key else {})

        async def eligible(n: P.Nomination) -> bool:
            answer = await self.call(
                "POST",
                f"{base}/v1/award-rounds/{round_id}/eligibility",
                role="admin",
                json={"form_code": n.form_code, "nominee": nominee(n)},
                what="eligibility",
            )
            return bool(answer["eligible"])

        async def all_eligible() -> bool:  # awards learns assessments, guards and training from events
            return all(await self.each(r.nominations, eligible))

        await self.until("awards knows every nominee's records", all_eligible)

        async def one(n: P.Nomination) -> None:
            unit = self.loaded.units[n.unit_code]
            officer = f"can-bo-{unit[:8]}"  # the unit's officer proposes and submits
            created = await self.call(
                "POST",
                f"{base}/v1/award-rounds/{round_id}/nominations",
                role="unit_officer",
                unit_id=unit,
                subject=officer,
                json={
                    "form_code": n.form_code,
                    "nominee": nominee(n),
                    "achievements": n.achievements,
                    "nominated_on": r.window[0].isoformat(),  # the paper record's day, inside the window
                },
                what="nomination",
            )
            url = f"{base}/v1/nominations/{created['id']}"
            await self.call(
                "POST", f"{url}/submit", role="unit_officer", unit_id=unit, subject=officer, what="submit"
            )
            await self.call("POST", f"{url}/screen", role="admin", subject=SECRETARIAT, what="screen")
            await self.call("POST", f"{url}/council", role="admin", subject=SECRETARIAT, what="to council")
            for member in r.council:
                await self.call(
                    "POST",
                    f"{url}/votes",
                    role="admin",
                    subject=member,
                    json={"approve": n.decided},
                    what="vote",
                )
            if not n.decided:
                await self.call(
                    "POST",
                    f"{url}/rejection",
                    role="admin",
                    subject=SECRETARIAT,
                    json={"reason": "Hội đồng thi đua - khen thưởng không tán thành"},
                    what="reject",
                )
                return
            number, day, signer = r.decisions[n.form_code]
            role = "chairman_office" if n.form_code == "merit" else "police"
            award = await self.call(
                "POST",
                f"{url}/decision",
                role=role,
                json={"decision_number": number, "decided_on": day.isoformat(), "signer": signer},
                what="decision",
            )
            self.loaded.awards.append(award["id"])

        await self.each(r.nominations, one)
        return len(r.nominations)

    async def certificates(self, p: P.Province) -> int:
        r = p.award_round
        assert r is not None
        for form, (number, _, _) in r.decisions.items():
            role = "chairman_office" if form == "merit" else "police"
            await self.call(
                "POST",
                f"{self.urls.awards}/v1/certificates",
                role=role,
                json={"decision_number": number},
                what=f"certificates of {number}",
            )
        return len(r.decisions)

    async def heartbeats(self, p: P.Province) -> int:
        now = datetime.now(UTC).isoformat()
        for i in range(0, len(p.online_cameras), 5000):
            batch = [{"camera_id": code, "at": now} for code in p.online_cameras[i : i + 5000]]
            r = await self.call(
                "POST",
                f"{self.urls.cameras}/v1/heartbeats",
                role="camera_gateway",
                json={"heartbeats": batch},
                what="heartbeats",
            )
            if r["rejected"]:
                raise LoadError(f"heartbeats refused: {r['rejected'][:3]}")
        return len(p.online_cameras)

    async def detections(self, p: P.Province) -> int:
        now = datetime.now(UTC)
        items = [
            {
                "detection_id": _uuid(p.seed, f"{d.camera_code}/{d.kind}/{d.minutes_ago}"),
                "camera_id": d.camera_code,
                "occurred_at": (now - timedelta(minutes=d.minutes_ago)).isoformat(),
                "kind": d.kind,
                "confidence": d.confidence,
                "attributes": {"nguồn": "mô phỏng"},
            }
            for d in p.detections
        ]
        for i in range(0, len(items), 500):
            r = await self.call(
                "POST",
                f"{self.urls.cameras}/v1/detections:batch",
                role="camera_gateway",
                json=items[i : i + 500],
                what="detections",
            )
            if r["rejected"]:
                raise LoadError(f"detections refused: {r['rejected'][:3]}")
        handling = {(d.camera_code, d.kind): d.handling for d in p.detections}
        violations = await self.all_items(f"{self.urls.cameras}/v1/violations", "police", subject=POLICE)
        mine = [v for v in violations if (v["camera_code"], v["kind"]) in handling]

        async def handle(v: dict[str, Any]) -> None:
            how = handling[(v["camera_code"], v["kind"])]
            url = f"{self.urls.cameras}/v1/violations/{v['id']}"
            version = v["version"]
            steps: list[tuple[str, dict[str, Any]]] = []
            if how in ("acknowledge", "start", "resolve"):
                steps.append(("acknowledge", {"note": "Đã tiếp nhận"}))
            if how in ("start", "resolve"):
                steps.append(("assign", {"assignee": "Thượng úy Nguyễn Văn Hùng", "team": "Tổ tuần tra 141"}))
                steps.append(("start", {"note": "Tổ tuần tra đã đến hiện trường"}))
            if how == "resolve":
                steps.append(("resolve", {"outcome": "Đã xác minh, lập biên bản xử lý theo quy định"}))
            if how == "dismiss":
                steps.append(("dismiss", {"reason": "Báo động nhầm: người của đơn vị làm việc ngoài giờ"}))
            for action, body in steps:
                done = await self.call(
                    "POST",
                    f"{url}/{action}",
                    role="police",
                    subject=POLICE,
                    json={"version": version, **body},
                    what=f"violation {action}",
                )
                version = done["version"]

        await self.each(mine, handle)
        self.loaded.violations = len(mine)
        return len(items)


def _uuid(seed: int, text: str) -> str:
    """A detection id that is the same for the same province (a resent batch is a duplicate, not new)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"d07-demo/{seed}/{text}"))


def flat(report: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The HTTP report's nested figures as dotted names ({"awards": {"merit": {"collective": 8}}} ->
    {"awards.merit.collective": 8})."""
    out: dict[str, Any] = {}
    for k, v in report.items():
        if isinstance(v, dict) and not ({"value", "previous"} & v.keys()):
            out |= flat(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


async def review(loader: Loader, period: tuple[str, str] = ("2014-08-15", "2019-08-29")) -> dict[str, Any]:
    """The review report of the period as reporting answers it now (HTTP), its figures by dotted name."""
    url = f"{loader.urls.reporting}/v1/reports/review?from={period[0]}&to={period[1]}"
    body = await loader.call("GET", url, role="admin", what="review report")
    return flat(body.get("figures", body))


async def wait_for_figures(
    loader: Loader, expected: dict[str, int], *, within: float = 300.0
) -> dict[str, Any]:
    """Poll the review report until it shows `expected` (reporting projects the events as they come)."""
    seen: dict[str, Any] = {}

    async def equal() -> bool:
        nonlocal seen
        seen = await review(loader)
        return all(_value(seen.get(k)) == v for k, v in expected.items())

    try:
        await loader.until("the review report shows the province's figures", equal, within=within)
    except LoadError as e:
        diff = {k: (_value(seen.get(k)), v) for k, v in expected.items() if _value(seen.get(k)) != v}
        raise LoadError(f"{e}; (report, expected): {diff}") from None
    return seen


def _value(figure: Any) -> Any:
    return figure.get("value") if isinstance(figure, dict) else figure
