"""Pure rules of directive documents, their distribution and acknowledgement: no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from d07.platform.errors import InvalidArgument
from registry.directives.domain import (
    AcknowledgeDocument,
    DistributeDocument,
    DistrictProgress,
    Document,
    IssueDocument,
    Progress,
    UnitList,
    UnitSelector,
    UpdateDocument,
    note_of,
    revise,
    target_of,
    validate,
)

KINDS = frozenset({"directive", "plan", "guidance", "report"})
TITLE = "Về đẩy mạnh phong trào toàn dân bảo vệ an ninh Tổ quốc trong cơ quan, doanh nghiệp, nhà trường"


def directive(**overrides: object) -> IssueDocument:
    fields: dict[str, object] = {
        "number": "07/CT-BCA-V28",
        "kind": "directive",
        "title": TITLE,
        "issued_on": date(2014, 8, 15),
        "issuer": "Bộ trưởng Bộ Công an",
    }
    fields.update(overrides)
    return IssueDocument(**fields)  # type: ignore[arg-type]


def stored(**overrides: object) -> Document:
    now = datetime(2019, 8, 29, tzinfo=UTC)
    fields = validate(directive(), kinds=KINDS)
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "number": fields.number,
        "kind": fields.kind,
        "kind_label": "Chỉ thị",
        "title": fields.title,
        "issued_on": fields.issued_on,
        "issuer": fields.issuer,
        "summary": "",
        "link": "",
        "parent_id": None,
        "version": 3,
        "created_at": now,
        "updated_at": now,
    }
    values.update(overrides)
    return Document(**values)  # type: ignore[arg-type]


def test_a_document_is_normalised_and_searchable_without_diacritics() -> None:
    fields = validate(
        directive(number=" 07/ct-bca-v28 ", title=f"  {TITLE}  ", issuer=" Bộ trưởng   Bộ Công an "),
        kinds=KINDS,
    )
    assert (fields.number, fields.title, fields.issuer) == ("07/CT-BCA-V28", TITLE, "Bộ trưởng Bộ Công an")
    assert fields.parent_id is None
    assert "07/ct-bca-v28 ve day manh phong trao toan dan bao ve an ninh to quoc" in fields.search_text


def test_every_wrong_field_is_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate(
            IssueDocument(
                number=" ",
                kind="decree",
                title="",
                issued_on=None,
                issuer="",
                link="ftp://x",
                parent_id="not-an-id",
            ),
            kinds=KINDS,
        )
    assert {f.field for f in err.value.fields} == {
        "number",
        "kind",
        "title",
        "issued_on",
        "issuer",
        "link",
        "parent_id",
    }


def test_a_document_cannot_be_issued_after_today() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate(directive(issued_on=date(2019, 8, 30)), kinds=KINDS, today=date(2019, 8, 29))
    assert [f.field for f in err.value.fields] == ["issued_on"]
    assert validate(directive(), kinds=KINDS, today=date(2014, 8, 15)).issued_on == date(2014, 8, 15)


def test_kinds_are_the_data_given_not_a_fixed_list() -> None:
    with pytest.raises(InvalidArgument):
        validate(directive(kind="plan"), kinds=frozenset({"directive"}))
    assert validate(directive(kind="decision"), kinds=KINDS | {"decision"}).kind == "decision"


def test_revise_keeps_unset_fields_and_applies_the_given_ones() -> None:
    current = stored(summary="Tóm tắt cũ", link="https://congan.example.vn/ct07")
    parent = uuid.uuid4()
    fields = revise(
        current,
        UpdateDocument(str(current.id), version=3, summary="Tóm tắt mới", parent_id=str(parent)),
        kinds=KINDS,
    )
    assert (fields.number, fields.title, fields.link) == (current.number, current.title, current.link)
    assert (fields.summary, fields.parent_id) == ("Tóm tắt mới", parent)


def test_revise_removes_the_parent_with_an_empty_id() -> None:
    current = stored(parent_id=uuid.uuid4())
    assert revise(current, UpdateDocument(str(current.id), 3, parent_id=""), kinds=KINDS).parent_id is None
    assert revise(current, UpdateDocument(str(current.id), 3), kinds=KINDS).parent_id == current.parent_id


def test_a_document_cannot_implement_itself() -> None:
    current = stored()
    with pytest.raises(InvalidArgument) as err:
        revise(current, UpdateDocument(str(current.id), 3, parent_id=str(current.id)), kinds=KINDS)
    assert err.value.code == "parent_cycle"


def test_an_update_needs_the_version_read() -> None:
    current = stored()
    with pytest.raises(InvalidArgument) as err:
        revise(current, UpdateDocument(str(current.id), 0, title="Tiêu đề"), kinds=KINDS)
    assert [f.field for f in err.value.fields] == ["version"]


def test_an_explicit_unit_list_is_parsed_and_deduplicated_in_order() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    target = target_of(DistributeDocument("d", unit_ids=(str(a), str(b), str(a).upper())))
    assert target == UnitList(unit_ids=(a, b))


def test_a_bad_unit_id_is_named_by_its_position() -> None:
    with pytest.raises(InvalidArgument) as err:
        target_of(DistributeDocument("d", unit_ids=(str(uuid.uuid4()), "trường-thpt")))
    assert [f.field for f in err.value.fields] == ["unit_ids[1]"]


@pytest.mark.parametrize(
    ("cmd", "field"),
    [
        (DistributeDocument("d"), "unit_ids"),
        (DistributeDocument("d", unit_ids=(str(uuid.uuid4()),), selector=UnitSelector()), "selector"),
        (DistributeDocument("d", selector=UnitSelector(kind="shop")), "selector.kind"),
    ],
)
def test_a_distribution_names_units_or_a_selector_exactly_once(cmd: DistributeDocument, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        target_of(cmd)
    assert [f.field for f in err.value.fields] == [field]


def test_an_empty_selector_means_every_active_unit() -> None:
    assert target_of(DistributeDocument("d", selector=UnitSelector())) == UnitSelector("", "")
    assert target_of(DistributeDocument("d", selector=UnitSelector(" 006 ", "school"))) == UnitSelector(
        "006", "school"
    )


def test_progress_is_the_sum_of_its_districts() -> None:
    progress = Progress(
        document_id=uuid.uuid4(),
        districts=(
            DistrictProgress("001", "Thành phố Sơn Lâm", distributed=40, acknowledged=31),
            DistrictProgress("006", "Huyện Na Lư", distributed=12, acknowledged=12),
        ),
    )
    assert (progress.distributed, progress.acknowledged, progress.pending) == (52, 43, 9)
    assert [d.pending for d in progress.districts] == [9, 0]


def test_an_acknowledgement_note_is_bounded() -> None:
    assert note_of(AcknowledgeDocument("d", "u", note="  Đã nhận, đã phổ biến  ")) == "Đã nhận, đã phổ biến"
    with pytest.raises(InvalidArgument) as err:
        note_of(AcknowledgeDocument("d", "u", note="x" * 1001))
    assert [f.field for f in err.value.fields] == ["note"]
