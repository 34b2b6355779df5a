"""Districts and communes of the province, from the versioned data file. Pure: parsing and checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from d07.platform.errors import FieldProblem

DISTRICT_KINDS = frozenset({"city", "town", "district"})
COMMUNE_KINDS = frozenset({"ward", "commune", "township"})


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    kind: str
    district_code: str


@dataclass(frozen=True)
class District:
    code: str
    name: str
    kind: str
    communes: tuple[Commune, ...]


@dataclass(frozen=True)
class Divisions:
    version: str
    province_code: str
    province_name: str
    districts: tuple[District, ...]

    def commune(self, code: str) -> Commune | None:
        return next((c for d in self.districts for c in d.communes if c.code == code), None)


class DivisionDataError(ValueError):
    """The data file is malformed: the service refuses to start with it."""


def parse(data: Mapping[str, Any]) -> Divisions:
    """The divisions of a data file, or DivisionDataError naming what is wrong."""
    try:
        version = str(data["version"])
        province = data["province"]
        districts: list[District] = []
        seen: set[str] = set()
        for d in data["districts"]:
            if d["code"] in seen or d["kind"] not in DISTRICT_KINDS:
                raise DivisionDataError(f"district {d['code']}: duplicate code or unknown kind {d['kind']!r}")
            seen.add(d["code"])
            communes = []
            for c in d["communes"]:
                if c["code"] in seen or c["kind"] not in COMMUNE_KINDS:
                    raise DivisionDataError(
                        f"commune {c['code']}: duplicate code or unknown kind {c['kind']!r}"
                    )
                seen.add(c["code"])
                communes.append(Commune(c["code"], c["name"], c["kind"], d["code"]))
            districts.append(District(d["code"], d["name"], d["kind"], tuple(communes)))
        return Divisions(version, str(province["code"]), str(province["name"]), tuple(districts))
    except (KeyError, TypeError) as exc:
        raise DivisionDataError(f"the divisions file lacks {exc}") from exc


def place_problems(
    district_code: str, commune_code: str, *, district_of: Mapping[str, str], districts: frozenset[str]
) -> list[FieldProblem]:
    """Problems with a (district, commune) pair: unknown codes, or a commune of another district.

    `district_of` maps commune code -> district code; an empty commune code is allowed."""
    problems: list[FieldProblem] = []
    if district_code and district_code not in districts:
        problems.append(FieldProblem("district_code", f"unknown district {district_code!r}"))
    if commune_code:
        owner = district_of.get(commune_code)
        if owner is None:
            problems.append(FieldProblem("commune_code", f"unknown commune {commune_code!r}"))
        elif district_code and owner != district_code:
            problems.append(
                FieldProblem(
                    "commune_code", f"commune {commune_code} lies in district {owner}, not {district_code}"
                )
            )
    return problems
