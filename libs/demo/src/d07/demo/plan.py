"""The demo province as a plan: every record it will create, generated from a seed and a size. Pure: no I/O.

The province is built so that its interim review for 15-08-2014 .. 29-08-2019 gives the article's figures,
each multiplied by `size`: 1.730 unit-assessments with 1.454 passed (rounds of 2014 to 2018, every in-scope
unit each year), 61 movement models of which 12 in units, 26 training classes with 1.502 attendances, 3.200
cameras planned, 8 + 8 certificates of merit and 14 + 12 certificates of commendation. Around those figures
it has what a province has after them: units out of the assessment's scope, models and classes after 2019,
cameras installed from 2020, detections today and the violations they open, some handled, some not.

`figures(plan)` counts the plan itself by the report's rules; the tests hold it against the article's figures,
and the end-to-end test holds the platform's report against both.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from d07.demo import names

PERIOD = (date(2014, 8, 15), date(2019, 8, 29))
ROUND_YEARS = (2014, 2015, 2016, 2017, 2018)
# Of the units assessed each year, how many failed (size 1): fewer every year as the movement took hold.
FAILED_PER_YEAR = (80, 65, 54, 42, 35)
UNITS_IN_SCOPE = 346
UNITS_OUT_OF_SCOPE = 24
MODELS_IN_UNITS, MODELS_IN_COMMUNITIES, MODELS_LATER = 12, 49, 9
CLASSES, ATTENDANCES, CLASSES_LATER = 26, 1502, 3
CAMERAS, INSTALLED_SHARE = 3200, 0.75
AWARDS = {("merit", "collective"): 8, ("merit", "individual"): 8}
AWARDS |= {("commendation", "collective"): 14, ("commendation", "individual"): 12}
DETECTING_CAMERAS = 300

# The article's figures for the period, at size 1 (the report's names).
ARTICLE = {
    "assessments.total": 1730,
    "assessments.passed": 1454,
    "models.total": 61,
    "models.in_units": 12,
    "training.classes": 26,
    "training.attendances": 1502,
    "cameras.planned": 3200,
    "awards.merit.collective": 8,
    "awards.merit.individual": 8,
    "awards.commendation.collective": 14,
    "awards.commendation.individual": 12,
}

# Shares of the districts in units and cameras: the city first, then the rest.
DISTRICT_WEIGHTS = (0.22, 0.12, 0.11, 0.11, 0.12, 0.10, 0.11, 0.11)
KIND_SHARES = (("agency", 0.35), ("enterprise", 0.35), ("school", 0.30))
# Detection kinds, their share of the violations and a confidence above each kind's opening threshold.
DETECTION_KINDS = (
    ("intrusion", 0.30, 0.86),
    ("loitering", 0.15, 0.90),
    ("fire_smoke", 0.05, 0.80),
    ("crowd", 0.15, 0.88),
    ("vandalism", 0.10, 0.87),
    ("traffic", 0.20, 0.95),
    ("other", 0.05, 0.97),
)
# What the police have done with the violations so far, in shares.
HANDLING = (("resolve", 0.35), ("dismiss", 0.15), ("start", 0.10), ("acknowledge", 0.10), ("none", 0.30))
CRITERIA = ("TC1", "TC2", "TC3", "TC4")
MANDATORY = ("TC1", "TC2", "TC3")  # Circular 23/2012: every mandatory criterion met passes; TC4 is optional
MANDATORY_FAILURES = ("TC2", "TC3")
VN = "Tỉnh Sơn Lâm"


@dataclass(frozen=True)
class Commune:
    code: str
    name: str


@dataclass(frozen=True)
class District:
    code: str
    name: str
    communes: tuple[Commune, ...]


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    sub_kind: str
    district_code: str
    commune_code: str
    address: str
    head_name: str
    head_title: str
    phone: str
    email: str
    staff_count: int
    in_scope: bool


@dataclass(frozen=True)
class Force:
    unit_code: str
    established_on: date
    planned_size: int
    leader_name: str
    leader_phone: str


@dataclass(frozen=True)
class Guard:
    key: str
    unit_code: str
    district_code: str
    full_name: str
    birth_year: int
    position: str
    phone: str
    joined_on: date


@dataclass(frozen=True)
class Model:
    name: str
    kind: str
    unit_code: str | None
    commune_code: str | None
    residential_area: str
    formation: str
    formed_on: date
    description: str


@dataclass(frozen=True)
class Enrolment:
    guard_key: str
    completed: bool
    result: str


@dataclass(frozen=True)
class TrainingClass:
    key: str
    title: str
    organiser: str
    starts_on: date
    ends_on: date
    place: str
    capacity: int
    district_code: str
    enrolments: tuple[Enrolment, ...]


@dataclass(frozen=True)
class Camera:
    code: str
    name: str
    latitude: float
    longitude: float
    unit_code: str | None
    address: str
    district_code: str
    commune_code: str
    planned_on: date
    installed_on: date | None


@dataclass(frozen=True)
class InstallationPlan:
    name: str
    target: int
    starts_on: date
    deadline: date
    district_targets: dict[str, int]


@dataclass(frozen=True)
class Assessment:
    year: int
    unit_code: str
    unmet: tuple[str, ...]  # criteria the police found unmet; a mandatory one fails the assessment

    @property
    def passed(self) -> bool:
        return not any(c in MANDATORY for c in self.unmet)


@dataclass(frozen=True)
class Nomination:
    form_code: str
    recipient_kind: str
    unit_code: str
    guard_key: str | None
    achievements: str
    decided: bool  # False: the council votes it down and it is rejected


@dataclass(frozen=True)
class AwardRound:
    title: str
    period: tuple[date, date]
    window: tuple[date, date]
    min_passed_years: int
    council: tuple[str, ...]
    quotas: dict[tuple[str, str], int]
    decisions: dict[str, tuple[str, date, str]]  # form -> (decision number, date, signer)
    nominations: tuple[Nomination, ...]


@dataclass(frozen=True)
class Detection:
    camera_code: str
    kind: str
    confidence: float
    minutes_ago: int
    handling: str  # what the police have done with the violation it opens (or joins)


@dataclass(frozen=True)
class Document:
    number: str
    kind: str
    title: str
    issued_on: date
    issuer: str
    summary: str
    parent_number: str
    acknowledged_by: tuple[str, ...]  # unit codes


@dataclass
class Province:
    seed: int
    size: int
    districts: tuple[District, ...]
    units: list[Unit] = field(default_factory=list)
    forces: list[Force] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)
    models: list[Model] = field(default_factory=list)
    classes: list[TrainingClass] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)
    installation_plan: InstallationPlan | None = None
    assessments: list[Assessment] = field(default_factory=list)
    award_round: AwardRound | None = None
    detections: list[Detection] = field(default_factory=list)
    online_cameras: list[str] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split by `weights` into whole parts that add up to it (largest remainders)."""
    raw = [total * w / sum(weights) for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def generate(districts: Sequence[District], *, seed: int = 2019, size: int = 1) -> Province:
    """The whole province for `seed` and `size` (a positive whole multiple of the article's figures)."""
    if size < 1:
        raise ValueError("size is a whole number from 1")
    if len(districts) < 1 or any(not d.communes for d in districts):
        raise ValueError("the province needs districts with communes")
    rng = random.Random(seed)
    p = Province(seed, size, tuple(districts))
    _units(p, rng)
    _forces_and_guards(p, rng)
    _assessments(p, rng)
    _models(p, rng)
    _classes(p, rng)
    _cameras(p, rng)
    _awards(p, rng)
    _detections(p, rng)
    _documents(p, rng)
    return p


def _weights(p: Province) -> list[float]:
    w = list(DISTRICT_WEIGHTS[: len(p.districts)])
    return w + [0.1] * (len(p.districts) - len(w))


def _units(p: Province, rng: random.Random) -> None:
    per_district = _split(UNITS_IN_SCOPE * p.size, _weights(p))
    out_of_scope = _split(UNITS_OUT_OF_SCOPE * p.size, _weights(p))
    seen: Counter[str] = Counter()
    n = 0
    for d, count, extra in zip(p.districts, per_district, out_of_scope, strict=True):
        kinds = _split(count, [s for _, s in KIND_SHARES])
        plan = [k for (k, _), c in zip(KIND_SHARES, kinds, strict=True) for _ in range(c)]
        plan += ["out"] * extra
        for kind in plan:
            n += 1
            commune = rng.choice(d.communes)
            in_scope = kind != "out"
            if not in_scope:
                kind, sub_kind, name = rng.choice(
                    [
                        ("school", "primary", f"Trường Tiểu học {rng.choice(names.NOTABLES)}"),
                        ("school", "kindergarten", f"Trường Mầm non {names.short_place(commune.name)}"),
                        (
                            "enterprise",
                            "micro_enterprise",
                            f"Cơ sở {rng.choice(names.INDUSTRIES)} {rng.choice(names.ENTERPRISE_NAMES)}",
                        ),
                    ]
                )
            elif kind == "agency":
                if d is p.districts[0] and rng.random() < 0.5:
                    name, sub_kind = rng.choice(names.PROVINCE_AGENCIES), "state_agency"
                else:
                    prefix, sub_kind = rng.choice(names.DISTRICT_AGENCIES)
                    name = f"{prefix} {names.inline(d.name)}"
            elif kind == "enterprise":
                form, sub_kind = rng.choice(names.ENTERPRISE_FORMS)
                if rng.random() < 0.12:
                    sub_kind = "fdi_enterprise"
                name = f"{form} {rng.choice(names.INDUSTRIES)} {rng.choice(names.ENTERPRISE_NAMES)}"
            else:
                level, sub_kind = rng.choice(
                    [("Trường THPT", "high_school")] * 4
                    + [("Trường THCS", "lower_secondary")] * 5
                    + [("Trường Cao đẳng nghề", "vocational"), ("Trường Trung cấp Y tế", "vocational")]
                )
                name = f"{level} {rng.choice(names.NOTABLES)}"
            seen[name] += 1
            if seen[name] > 1:
                name = (
                    f"{name} ({names.short_place(commune.name)}{'' if seen[name] == 2 else f' {seen[name]}'})"
                )
            head_title = names.HEAD_TITLES[kind] if sub_kind != "mass_organisation" else "Chủ tịch"
            p.units.append(
                Unit(
                    code=f"DV{d.code}-{n:05d}",
                    name=name,
                    kind=kind,
                    sub_kind=sub_kind,
                    district_code=d.code,
                    commune_code=commune.code,
                    address=names.address(rng, f"{names.inline(commune.name)}, {names.inline(d.name)}"),
                    head_name=names.person(rng),
                    head_title=head_title,
                    phone=names.phone(rng),
                    email=f"dv{n:05d}@sonlam.gov.vn",
                    staff_count=rng.randint(20, 1200) if in_scope else rng.randint(5, 19),
                    in_scope=in_scope,
                )
            )


def _forces_and_guards(p: Province, rng: random.Random) -> None:
    for u in p.units:
        if not u.in_scope:
            continue
        size = rng.randint(3, 8)
        p.forces.append(
            Force(
                u.code,
                _day(rng, date(2010, 1, 1), date(2014, 8, 1)),
                size + rng.randint(0, 2),
                names.person(rng),
                names.phone(rng),
            )
        )
        for i in range(size):
            born = rng.randint(1962, 1994)
            p.guards.append(
                Guard(
                    key=f"{u.code}/{i + 1}",
                    unit_code=u.code,
                    district_code=u.district_code,
                    full_name=names.person(rng),
                    birth_year=born,
                    position=names.POSITIONS[0] if i == 0 else rng.choice(names.POSITIONS[1:]),
                    phone=names.phone(rng),
                    joined_on=_day(rng, max(date(2008, 1, 1), date(born + 18, 1, 1)), date(2014, 7, 31)),
                )
            )


def exemplary(p: Province) -> list[str]:
    """The units that pass every year: the awards' collectives and the units of their individuals come from
    these (their first ones, by code), so no failure can make a nominee ineligible."""
    need = sum(AWARDS.values()) * p.size + 2 * p.size
    in_scope = [u.code for u in p.units if u.in_scope]
    return sorted(in_scope, key=lambda c: (hash_of(p.seed, c), c))[:need]


def hash_of(seed: int, text: str) -> int:
    """A stable pseudo-random order (not Python's salted hash)."""
    h = seed & 0xFFFFFFFF
    for ch in text.encode():
        h = (h * 16777619 ^ ch) & 0xFFFFFFFF
    return h


def _assessments(p: Province, rng: random.Random) -> None:
    keep = set(exemplary(p))
    candidates = [u.code for u in p.units if u.in_scope and u.code not in keep]
    for year, failed in zip(ROUND_YEARS, FAILED_PER_YEAR, strict=True):
        failing = set(rng.sample(candidates, failed * p.size))
        for u in p.units:
            if not u.in_scope:
                continue
            if u.code in failing:
                unmet: tuple[str, ...] = (rng.choice(MANDATORY_FAILURES),)
                if rng.random() < 0.3:
                    unmet += ("TC4",)
            else:
                unmet = ("TC4",) if rng.random() < 0.2 else ()
            p.assessments.append(Assessment(year, u.code, unmet))


def _models(p: Province, rng: random.Random) -> None:
    in_scope = [u for u in p.units if u.in_scope]
    unit_kinds = {"school": "safe_school", "enterprise": "safe_enterprise", "agency": "safe_agency"}
    community_kinds = (
        "self_managed_team",
        "safe_residential_area",
        "self_managed_clan",
        "self_managed_road",
        "security_cluster",
        "fire_safety_group",
        "security_information",
        "security_camera",
    )
    labels = {
        "self_managed_team": "Tổ tự quản về an ninh trật tự",
        "safe_residential_area": "Khu dân cư an toàn về an ninh trật tự",
        "self_managed_clan": "Dòng họ tự quản về an ninh trật tự",
        "self_managed_road": "Tuyến đường tự quản về an ninh trật tự",
        "security_cluster": "Cụm liên kết an ninh trật tự",
        "fire_safety_group": "Tổ liên gia an toàn phòng cháy, chữa cháy",
        "security_information": "Hòm thư tố giác tội phạm",
        "security_camera": "Camera an ninh",
    }

    def when(later: bool) -> date:
        return _day(rng, date(2019, 10, 1), date(2024, 12, 31)) if later else _day(rng, *PERIOD)

    for i in range((MODELS_IN_UNITS + MODELS_LATER // 3) * p.size):
        u = rng.choice(in_scope)
        kind = (
            unit_kinds[u.kind] if rng.random() < 0.6 else rng.choice(("fire_safety_group", "security_camera"))
        )
        title = {
            "safe_school": "Trường học an toàn về an ninh trật tự",
            "safe_enterprise": "Doanh nghiệp an toàn về an ninh trật tự",
            "safe_agency": "Cơ quan an toàn về an ninh trật tự",
        }.get(kind, labels.get(kind, ""))
        p.models.append(
            Model(
                f"{title} - {u.name}",
                kind,
                u.code,
                None,
                "",
                rng.choice(("built", "consolidated")),
                when(i >= MODELS_IN_UNITS * p.size),
                "Mô hình do đơn vị tự xây dựng, có quy chế hoạt động",
            )
        )
    for i in range((MODELS_IN_COMMUNITIES + MODELS_LATER - MODELS_LATER // 3) * p.size):
        d = rng.choice(p.districts)
        c = rng.choice(d.communes)
        kind = rng.choice(community_kinds)
        area = f"{rng.choice(names.RESIDENTIAL)} {rng.randint(1, 12)}"
        p.models.append(
            Model(
                f"{labels[kind]} {area}, {names.inline(c.name)}",
                kind,
                None,
                c.code,
                area,
                rng.choice(("built", "built", "consolidated")),
                when(i >= MODELS_IN_COMMUNITIES * p.size),
                "Mô hình ở khu dân cư, do Công an xã hướng dẫn",
            )
        )


def _classes(p: Province, rng: random.Random) -> None:
    guards_of: dict[str, list[Guard]] = defaultdict(list)
    for g in p.guards:
        guards_of[g.district_code].append(g)
    count = CLASSES * p.size
    sizes = _split(ATTENDANCES * p.size, [1.0] * count)
    later = [rng.randint(40, 60) for _ in range(CLASSES_LATER * p.size)]
    for i, n in enumerate(sizes + later):
        d = p.districts[i % len(p.districts)]
        in_period = i < count
        if in_period:
            span = (PERIOD[1] - PERIOD[0]).days - 10
            starts = PERIOD[0] + timedelta(days=10 + span * i // count + rng.randint(0, 5))
            starts = min(starts, PERIOD[1] - timedelta(days=1))
        else:
            starts = _day(rng, date(2020, 3, 1), date(2024, 11, 30))
        pool = guards_of[d.code] or p.guards
        chosen = rng.sample(pool, min(n, len(pool)))
        while len(chosen) < n:  # a small district: guards of the others fill the class
            g = rng.choice(p.guards)
            if g not in chosen:
                chosen.append(g)
        enrolments = tuple(
            Enrolment(g.key, ok, "Đạt" if ok else "Không đạt: vắng quá số buổi quy định")
            for g in chosen
            for ok in [rng.random() < 0.95]
        )
        p.classes.append(
            TrainingClass(
                key=f"L{i + 1:03d}",
                title=f"Lớp bồi dưỡng nghiệp vụ bảo vệ cơ quan, doanh nghiệp, nhà trường năm {starts.year} "
                f"- {names.inline(d.name)} (khóa {i + 1})",
                organiser="Phòng Cảnh sát quản lý hành chính về trật tự xã hội - Công an tỉnh",
                starts_on=starts,
                ends_on=starts + timedelta(days=rng.randint(2, 5)),
                place=f"Hội trường Công an {names.inline(d.name)}",
                capacity=n + rng.randint(0, 20),
                district_code=d.code,
                enrolments=enrolments,
            )
        )


def _cameras(p: Province, rng: random.Random) -> None:
    total = CAMERAS * p.size
    per_district = _split(total, _weights(p))
    units_of: dict[str, list[Unit]] = defaultdict(list)
    for u in p.units:
        if u.in_scope:
            units_of[u.district_code].append(u)
    n = 0
    for di, (d, count) in enumerate(zip(p.districts, per_district, strict=True)):
        lat0, lon0 = 13.60 + 0.09 * (di % 4), 108.70 + 0.12 * (di // 4)
        gates = [u for u in units_of[d.code] if rng.random() < 0.8][:count]
        for i in range(count):
            n += 1
            unit = gates[i] if i < len(gates) else None
            commune = next(
                (c for c in d.communes if unit and c.code == unit.commune_code), rng.choice(d.communes)
            )
            name = (
                f"Cổng chính {unit.name}"
                if unit
                else f"{rng.choice(names.CAMERA_SPOTS)} {names.inline(commune.name)}"
            )
            installed = rng.random() < INSTALLED_SHARE
            p.cameras.append(
                Camera(
                    code=f"CAM-{n:05d}",
                    name=name,
                    latitude=round(lat0 + rng.uniform(0, 0.08), 6),
                    longitude=round(lon0 + rng.uniform(0, 0.11), 6),
                    unit_code=unit.code if unit else None,
                    address=unit.address
                    if unit
                    else names.address(rng, f"{names.inline(commune.name)}, {names.inline(d.name)}"),
                    district_code=d.code,
                    commune_code=commune.code,
                    planned_on=_day(rng, date(2018, 10, 1), PERIOD[1]),
                    installed_on=_day(rng, date(2020, 3, 1), date(2025, 10, 31)) if installed else None,
                )
            )
    p.installation_plan = InstallationPlan(
        name=f"Lắp đặt {total:,} camera giám sát an ninh, trật tự trên địa bàn tỉnh".replace(",", "."),
        target=total,
        starts_on=PERIOD[1],
        deadline=date(2025, 12, 31),
        district_targets={d.code: c for d, c in zip(p.districts, per_district, strict=True)},
    )


def _awards(p: Province, rng: random.Random) -> None:
    best = exemplary(p)
    guards_by_unit: dict[str, list[Guard]] = defaultdict(list)
    for g in p.guards:
        guards_by_unit[g.unit_code].append(g)
    trained = {
        e.guard_key for c in p.classes if c.starts_on <= PERIOD[1] for e in c.enrolments if e.completed
    }
    collectives = iter(best)
    individuals = iter(
        g for code in best for g in guards_by_unit[code] if g.key in trained
    )  # a trained guard of an exemplary unit
    unit_of = {u.code: u for u in p.units}
    nominations: list[Nomination] = []
    for (form, kind), quota in AWARDS.items():
        for i in range(quota * p.size + p.size):  # one more than the quota: the council votes it down
            decided = i < quota * p.size
            if kind == "collective":
                code = next(collectives)
                what = (
                    f'{unit_of[code].name} đạt chuẩn "An toàn về an ninh, trật tự" 5 năm liền 2014-2018; '
                    "xây dựng và duy trì hiệu quả mô hình phong trào toàn dân bảo vệ an ninh Tổ quốc"
                )
                nominations.append(Nomination(form, kind, code, None, what, decided))
            else:
                g = next(individuals)
                what = (
                    f"Bảo vệ {g.full_name} có thành tích xuất sắc trong phong trào toàn dân bảo vệ "
                    "an ninh Tổ quốc giai đoạn 2014-2019, hoàn thành lớp bồi dưỡng nghiệp vụ bảo vệ"
                )
                nominations.append(Nomination(form, kind, g.unit_code, g.key, what, decided))
    rng.shuffle(nominations)
    p.award_round = AwardRound(
        title="Khen thưởng sơ kết 5 năm thực hiện Chỉ thị số 07/CT-BCA-V28 (2014-2019)",
        period=PERIOD,
        window=(date(2019, 7, 1), date(2019, 8, 20)),
        min_passed_years=3,
        council=("hd-thi-dua-chu-tich", "hd-thi-dua-pho-chu-tich", "hd-thi-dua-uy-vien"),
        quotas={k: v * p.size for k, v in AWARDS.items()},
        decisions={
            "merit": ("1845/QĐ-UBND", date(2019, 8, 26), "Phó Chủ tịch UBND tỉnh Nguyễn Văn Thành"),
            "commendation": ("1127/QĐ-CAT", date(2019, 8, 23), "Giám đốc Công an tỉnh Trần Minh Quang"),
        },
        nominations=tuple(nominations),
    )


def _detections(p: Province, rng: random.Random) -> None:
    awarded = {n.unit_code for n in (p.award_round.nominations if p.award_round else ())}
    installed = [c for c in p.cameras if c.installed_on is not None]
    watching = [c for c in installed if c.unit_code not in awarded]
    chosen = rng.sample(watching, min(DETECTING_CAMERAS * p.size, len(watching)))
    kinds = [k for k, _, _ in DETECTION_KINDS]
    weights = [w for _, w, _ in DETECTION_KINDS]
    confidence = {k: c for k, _, c in DETECTION_KINDS}
    handling = [h for h, _ in HANDLING]
    for cam in chosen:
        kind = rng.choices(kinds, weights)[0]
        how = rng.choices(handling, [w for _, w in HANDLING])[0]
        first = rng.randint(30, 600)
        # one detection opens the violation; sometimes more of the same follow within minutes (joined)
        for k in range(1 + (rng.random() < 0.25) * rng.randint(1, 3)):
            p.detections.append(
                Detection(
                    cam.code,
                    kind,
                    round(min(1.0, confidence[kind] + rng.uniform(0, 0.03)), 3),
                    first - 2 * k,
                    how,
                )
            )
    p.online_cameras = [c.code for c in installed if healthy(c.code)]


def healthy(camera_code: str) -> bool:
    """Nine installed cameras in ten answer their gateway; the tenth is broken (the same ones every time, so
    the demo gateway keeps the seed's online cameras online)."""
    return hash_of(0, camera_code) % 10 != 0


def _documents(p: Province, rng: random.Random) -> None:
    in_scope = [u.code for u in p.units if u.in_scope]
    p.documents = [
        Document(
            number="07/CT-BCA-V28",
            kind="directive",
            title="Về đẩy mạnh phong trào toàn dân bảo vệ an ninh Tổ quốc trong cơ quan, doanh nghiệp, "
            "nhà trường để giữ gìn an ninh, trật tự",
            issued_on=date(2014, 8, 15),
            issuer="Bộ trưởng Bộ Công an",
            summary="Đẩy mạnh phong trào toàn dân bảo vệ an ninh Tổ quốc trong cơ quan, doanh nghiệp, "
            "nhà trường.",
            parent_number="",
            acknowledged_by=tuple(c for c in in_scope if rng.random() < 0.93),
        ),
        Document(
            number="125/KH-UBND",
            kind="plan",
            title="Kế hoạch triển khai thực hiện Chỉ thị số 07/CT-BCA-V28 trên địa bàn tỉnh",
            issued_on=date(2014, 10, 10),
            issuer="Ủy ban nhân dân tỉnh",
            summary="Phân công các sở, ngành, địa phương triển khai Chỉ thị 07 giai đoạn 2014-2019.",
            parent_number="07/CT-BCA-V28",
            acknowledged_by=tuple(c for c in in_scope if rng.random() < 0.8),
        ),
    ]


def figures(p: Province, period: tuple[date, date] = PERIOD) -> dict[str, int]:
    """The review's figures of the plan itself for `period`, by the report's rules (assessments by the
    calendar years the period touches; models by when formed; classes by their first day; cameras by planning
    day; awards by decision day)."""
    first, last = period
    years = range(first.year, last.year + 1)
    assessed = [a for a in p.assessments if a.year in years]
    models = [m for m in p.models if first <= m.formed_on <= last]
    classes = [c for c in p.classes if first <= c.starts_on <= last]
    out = {
        "assessments.total": len(assessed),
        "assessments.passed": sum(a.passed for a in assessed),
        "models.total": len(models),
        "models.in_units": sum(m.unit_code is not None for m in models),
        "training.classes": len(classes),
        "training.attendances": sum(len(c.enrolments) for c in classes),
        "cameras.planned": sum(first <= c.planned_on <= last for c in p.cameras),
    }
    r = p.award_round
    for form in ("merit", "commendation"):
        for kind in ("collective", "individual"):
            day = r.decisions[form][1] if r else None
            n = (
                sum(x.decided and x.form_code == form and x.recipient_kind == kind for x in r.nominations)
                if r
                else 0
            )
            out[f"awards.{form}.{kind}"] = n if day is not None and first <= day <= last else 0
    return out


def districts_from(divisions: Sequence[dict[str, Any]]) -> list[District]:
    """The registry's divisions (GET /v1/divisions: districts with their communes) as the plan's districts."""
    return [
        District(d["code"], d["name"], tuple(Commune(c["code"], c["name"]) for c in d.get("communes", [])))
        for d in divisions
    ]
