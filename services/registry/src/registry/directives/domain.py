"""Directive documents, their distribution to units and the units' acknowledgement. Pure rules, no I/O.

The first task the provincial review sets is to propagate Directive 07/CT-BCA-V28 and the documents after it
to every level: a document is issued once, distributed to units (one receipt per document and unit), and
each unit confirms it received it. Progress is counted from those receipts, never set by hand.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from d07.platform.convert import parse_uuids
from d07.platform.errors import AlreadyExists, FieldProblem, InvalidArgument
from d07.platform.text import fold
from registry.units.domain import UnitKind

MAX_NUMBER = 64
MAX_TITLE = 500
MAX_ISSUER = 200
MAX_SUMMARY = 4000
MAX_LINK = 1000
MAX_NOTE = 1000
MAX_UNITS_PER_CALL = 5000
LINK = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


@dataclass(frozen=True)
class DocumentKind:
    """A kind of document and its Vietnamese label (rows of `document_kinds`)."""

    code: str
    label: str


@dataclass(frozen=True)
class IssueDocument:
    """Command: register a document as its issuer signed it. `parent_id` is the raw id ('' for none)."""

    number: str
    kind: str
    title: str
    issued_on: date | None
    issuer: str
    summary: str = ""
    link: str = ""
    parent_id: str = ""


@dataclass(frozen=True)
class DocumentFields:
    """The validated, normalised content of a document (what the repository writes)."""

    number: str
    kind: str
    title: str
    issued_on: date
    issuer: str
    summary: str
    link: str
    parent_id: uuid.UUID | None

    @property
    def search_text(self) -> str:
        return fold(f"{self.number} {self.title}")


@dataclass(frozen=True)
class UpdateDocument:
    """Command: change some fields of a document the caller read at `version`. None keeps a field;
    `parent_id=""` removes the parent."""

    document_id: str
    version: int
    number: str | None = None
    kind: str | None = None
    title: str | None = None
    issued_on: date | None = None
    issuer: str | None = None
    summary: str | None = None
    link: str | None = None
    parent_id: str | None = None


@dataclass(frozen=True)
class Document:
    id: uuid.UUID
    number: str
    kind: str
    kind_label: str
    title: str
    issued_on: date
    issuer: str
    summary: str
    link: str
    parent_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class UnitList:
    """Distribution target: units named one by one."""

    unit_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class UnitSelector:
    """Distribution target: every active unit of a district and/or kind ('' matches any)."""

    district_code: str = ""
    kind: str = ""


@dataclass(frozen=True)
class DistributeDocument:
    """Command: send a document to units. Exactly one of `unit_ids` (non-empty) or `selector`."""

    document_id: str
    unit_ids: tuple[str, ...] = ()
    selector: UnitSelector | None = None


@dataclass(frozen=True)
class AcknowledgeDocument:
    """Command: a unit confirms it received a document."""

    document_id: str
    unit_id: str
    note: str = ""


@dataclass(frozen=True)
class Receipt:
    """One unit's copy of one document, and its acknowledgement once given."""

    document_id: uuid.UUID
    unit_id: uuid.UUID
    unit_code: str
    unit_name: str
    district_code: str
    distributed_at: datetime
    distributed_by: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclass(frozen=True)
class DistrictProgress:
    district_code: str
    district_name: str
    distributed: int
    acknowledged: int

    @property
    def pending(self) -> int:
        return self.distributed - self.acknowledged


@dataclass(frozen=True)
class Progress:
    """How far a document reached: sums of its receipts, in total and by district."""

    document_id: uuid.UUID
    districts: tuple[DistrictProgress, ...]

    @property
    def distributed(self) -> int:
        return sum(d.distributed for d in self.districts)

    @property
    def acknowledged(self) -> int:
        return sum(d.acknowledged for d in self.districts)

    @property
    def pending(self) -> int:
        return self.distributed - self.acknowledged


@dataclass(frozen=True)
class Distribution:
    """The outcome of one distribution call."""

    document_id: uuid.UUID
    added_unit_ids: tuple[uuid.UUID, ...]
    matched_count: int


# --- events -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentIssued:
    document: Document


@dataclass(frozen=True)
class DocumentUpdated:
    document: Document


@dataclass(frozen=True)
class DocumentDistributed:
    """One event per distribution call that reached new units (not one per unit): the call is one decision
    with one audit row, and a province-wide distribution would otherwise flood the topic with ~1.700
    events; the unit ids travel in the event, so consumers still know every unit."""

    document_id: uuid.UUID
    unit_ids: tuple[uuid.UUID, ...]
    distributed_at: datetime


@dataclass(frozen=True)
class DocumentAcknowledged:
    receipt: Receipt


# --- rules ------------------------------------------------------------------------------------------


def _text(value: str) -> str:
    return " ".join(value.split())


def validate(cmd: IssueDocument, *, kinds: Collection[str], today: date | None = None) -> DocumentFields:
    """The document's fields trimmed and normalised, or InvalidArgument naming every wrong field.

    The number is compared as printed in upper case ("07/ct-bca-v28" is 07/CT-BCA-V28); a document cannot
    be issued after `today` (when given).
    """
    number = "".join(cmd.number.split()).upper()
    title, issuer = _text(cmd.title), _text(cmd.issuer)
    summary, link = cmd.summary.strip(), cmd.link.strip()
    problems: list[FieldProblem] = []
    if not number:
        problems.append(FieldProblem("number", "the document's number is required"))
    elif len(number) > MAX_NUMBER:
        problems.append(FieldProblem("number", f"at most {MAX_NUMBER} characters"))
    if cmd.kind not in kinds:
        problems.append(FieldProblem("kind", f"one of {', '.join(sorted(kinds))}"))
    if not title:
        problems.append(FieldProblem("title", "the title is required"))
    elif len(title) > MAX_TITLE:
        problems.append(FieldProblem("title", f"at most {MAX_TITLE} characters"))
    if cmd.issued_on is None:
        problems.append(FieldProblem("issued_on", "the date of issue is required"))
    elif today is not None and cmd.issued_on > today:
        problems.append(FieldProblem("issued_on", "a document cannot be issued in the future"))
    if not issuer:
        problems.append(FieldProblem("issuer", "the issuer is required"))
    elif len(issuer) > MAX_ISSUER:
        problems.append(FieldProblem("issuer", f"at most {MAX_ISSUER} characters"))
    if len(summary) > MAX_SUMMARY:
        problems.append(FieldProblem("summary", f"at most {MAX_SUMMARY} characters"))
    if link and (len(link) > MAX_LINK or not LINK.match(link)):
        problems.append(FieldProblem("link", "an http(s) address"))
    parent_id: uuid.UUID | None = None
    if cmd.parent_id.strip():
        try:
            parent_id = uuid.UUID(cmd.parent_id.strip())
        except ValueError:
            problems.append(FieldProblem("parent_id", "a UUID is expected"))
    if problems:
        raise InvalidArgument("the document is not valid", code="invalid_document", fields=problems)
    assert cmd.issued_on is not None
    return DocumentFields(
        number=number,
        kind=cmd.kind,
        title=title,
        issued_on=cmd.issued_on,
        issuer=issuer,
        summary=summary,
        link=link,
        parent_id=parent_id,
    )


def revise(
    current: Document, cmd: UpdateDocument, *, kinds: Collection[str], today: date | None = None
) -> DocumentFields:
    """The document's fields after the update: the given fields over the current ones, validated again.

    A document cannot be its own parent (deeper cycles need the stored tree: the service checks them).
    """
    if cmd.version < 1:
        raise InvalidArgument(
            "the version read is required",
            code="invalid_version",
            fields=[FieldProblem("version", "the version of the document as read (1 or more)")],
        )

    def pick(new: str | None, old: str) -> str:
        return old if new is None else new

    old_parent = str(current.parent_id) if current.parent_id else ""
    fields = validate(
        IssueDocument(
            number=pick(cmd.number, current.number),
            kind=pick(cmd.kind, current.kind),
            title=pick(cmd.title, current.title),
            issued_on=cmd.issued_on or current.issued_on,
            issuer=pick(cmd.issuer, current.issuer),
            summary=pick(cmd.summary, current.summary),
            link=pick(cmd.link, current.link),
            parent_id=pick(cmd.parent_id, old_parent),
        ),
        kinds=kinds,
        today=today,
    )
    if fields.parent_id == current.id:
        raise InvalidArgument(
            "a document cannot implement itself",
            code="parent_cycle",
            fields=[FieldProblem("parent_id", "another document's id")],
        )
    return fields


def target_of(cmd: DistributeDocument) -> UnitList | UnitSelector:
    """The units the command names: exactly one of a non-empty id list or a selector."""
    if cmd.unit_ids and cmd.selector is not None:
        raise InvalidArgument(
            "name units or give a selector, not both",
            code="ambiguous_target",
            fields=[FieldProblem("selector", "leave it out when unit_ids are given")],
        )
    if cmd.selector is not None:
        problems: list[FieldProblem] = []
        kind = cmd.selector.kind.strip()
        if kind and kind not in {k.value for k in UnitKind}:
            problems.append(FieldProblem("selector.kind", "one of agency, enterprise, school, or empty"))
        if problems:
            raise InvalidArgument("the selector is not valid", code="invalid_selector", fields=problems)
        return UnitSelector(district_code=cmd.selector.district_code.strip(), kind=kind)
    if not cmd.unit_ids:
        raise InvalidArgument(
            "no units to distribute to",
            code="no_target",
            fields=[FieldProblem("unit_ids", "name at least one unit, or give a selector")],
        )
    if len(cmd.unit_ids) > MAX_UNITS_PER_CALL:
        raise InvalidArgument(
            f"at most {MAX_UNITS_PER_CALL} units per call",
            code="too_many_units",
            fields=[FieldProblem("unit_ids", f"{len(cmd.unit_ids)} given")],
        )
    ids = parse_uuids(list(cmd.unit_ids), "unit_ids")
    return UnitList(unit_ids=tuple(dict.fromkeys(ids)))


def note_of(cmd: AcknowledgeDocument) -> str:
    note = cmd.note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidArgument(
            "the note is too long",
            code="invalid_note",
            fields=[FieldProblem("note", f"at most {MAX_NOTE} characters")],
        )
    return note


def number_taken(number: str) -> AlreadyExists:
    """A document numbered `number` exists already (numbers are unique, compared in upper case)."""
    return AlreadyExists(
        f"a document numbered {number} exists",
        code="document_number_taken",
        resource_type="document",
        resource_id=number,
        fields=[FieldProblem("number", "already used by another document")],
    )
