"""Certificates, pure: the texts and layout of a page, the PDF's extracted text, codes and permissions."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pypdf
import pytest

from awards.certificates.domain import (
    CODE_ALPHABET,
    CertificateFacts,
    achievement_text,
    canonical_code,
    ensure_issue_request,
    ensure_may_issue,
    layout,
    new_code,
    place_and_date,
    printed_code,
)
from awards.certificates.http import RateLimit
from awards.certificates.pdf import render
from d07.platform.auth import ADMIN, CHAIRMAN_OFFICE, POLICE, UNIT_OFFICER, Principal
from d07.platform.errors import InvalidArgument, PermissionDenied

SCHOOL = CertificateFacts(
    certificate_id=uuid.uuid4(), award_id=uuid.uuid4(), code="K7QM3XHDP9TA", issued_at=datetime.now(UTC),
    form_code="merit", recipient_kind="collective", unit_id=uuid.uuid4(), unit_name="Trường THPT Nguyễn Trãi",
    person_name="", achievement="xuất sắc", decision_number="1234/QĐ-UBND", decided_on=date(2019, 8, 29),
    signer="Nguyễn Văn Bình", issuer="Chủ tịch Ủy ban nhân dân tỉnh", status="decided",
    period_start=date(2014, 8, 15), period_end=date(2019, 8, 29),
)  # fmt: skip
GUARD = replace(
    SCHOOL, form_code="commendation", recipient_kind="individual", person_name="Trần Thị Hồng Nhung",
    unit_name="Công ty Cổ phần Xi măng Sơn Lâm", decision_number="567/QĐ-CAT", issuer="Giám đốc Công an tỉnh",
    code="ABCDEFGH2345", achievement="",
)  # fmt: skip


def texts(facts: CertificateFacts) -> list[str]:
    return [line.text for line in layout(facts, place="Sơn Lâm")]


def test_a_merit_certificate_of_a_collective_reads_as_printed() -> None:
    lines = texts(SCHOOL)
    assert lines[2:5] == ["CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH", "TẶNG BẰNG KHEN", "Trường THPT Nguyễn Trãi"]
    assert "Đã có thành tích xuất sắc trong thực hiện Chỉ thị số 07/CT-BCA-V28, giai đoạn 2014-2019." in lines
    assert "Quyết định số 1234/QĐ-UBND ngày 29-08-2019" in lines
    assert lines[-4:] == [
        "Sơn Lâm, ngày 29 tháng 8 năm 2019",
        "CHỦ TỊCH",
        "Nguyễn Văn Bình",
        "Mã xác minh: K7QM-3XHD-P9TA",
    ]


@pytest.mark.parametrize(
    ("form", "signer", "block"),
    [
        (
            "merit",
            "Phó Chủ tịch UBND tỉnh Nguyễn Văn Thành",
            ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Nguyễn Văn Thành"],
        ),
        ("merit", "Chủ tịch Ủy ban nhân dân tỉnh Lê Văn Hùng", ["CHỦ TỊCH", "Lê Văn Hùng"]),
        ("merit", "Quyền Chủ tịch UBND tỉnh Lê Văn Hùng", ["Q. CHỦ TỊCH", "Lê Văn Hùng"]),
        ("merit", "Nguyễn Văn Bình", ["CHỦ TỊCH", "Nguyễn Văn Bình"]),
        ("commendation", "Giám đốc Công an tỉnh Trần Minh Quang", ["GIÁM ĐỐC", "Trần Minh Quang"]),
        (
            "commendation",
            "Phó Giám đốc Công an tỉnh Đỗ Thị Hà",
            ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Đỗ Thị Hà"],
        ),
    ],
)
def test_the_signature_block_follows_the_decrees_forms_of_signing(
    form: str, signer: str, block: list[str]
) -> None:
    lines = texts(replace(SCHOOL, form_code=form, signer=signer))
    assert lines[-1 - len(block) : -1] == block  # a deputy signs "KT." for the head, never as the head


def test_a_commendation_of_an_individual_names_the_person_and_the_unit() -> None:
    lines = texts(GUARD)
    assert lines[2:6] == [
        "GIÁM ĐỐC CÔNG AN TỈNH", "TẶNG GIẤY KHEN", "Trần Thị Hồng Nhung", "Công ty Cổ phần Xi măng Sơn Lâm",
    ]  # fmt: skip
    assert "GIÁM ĐỐC" in lines
    assert "CHỦ TỊCH" not in lines
    assert GUARD.recipient == "Trần Thị Hồng Nhung, Công ty Cổ phần Xi măng Sơn Lâm"


def test_the_achievement_takes_the_nominations_words_and_the_date_line_has_no_leading_zeros() -> None:
    ach = replace(
        SCHOOL, achievement="  xuất sắc trong xây dựng  mô hình camera an ninh. ", period_start=None
    )
    assert achievement_text(ach) == (
        "Đã có thành tích xuất sắc trong xây dựng mô hình camera an ninh"
        " trong thực hiện Chỉ thị số 07/CT-BCA-V28."
    )
    assert place_and_date("Sơn Lâm", date(2019, 3, 5)) == "Sơn Lâm, ngày 5 tháng 3 năm 2019"


def test_an_unknown_form_has_no_layout() -> None:
    with pytest.raises(InvalidArgument):
        layout(replace(SCHOOL, form_code="medal"), place="Sơn Lâm")


def test_the_pdf_text_extracts_with_its_diacritics_and_one_page_per_certificate() -> None:
    content = render([SCHOOL, GUARD, SCHOOL], place="Sơn Lâm")
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 3
    first = reader.pages[0].extract_text()
    for text in ("TẶNG BẰNG KHEN", "Trường THPT Nguyễn Trãi", "Chỉ thị số 07/CT-BCA-V28", "29-08-2019",
                 "Sơn Lâm, ngày 29 tháng 8 năm 2019", "K7QM-3XHD-P9TA"):  # fmt: skip
        assert text in first
    second = reader.pages[1].extract_text()
    assert "TẶNG GIẤY KHEN" in second
    assert "Trần Thị Hồng Nhung" in second
    assert "Bằng khen" not in second
    # The embedded Liberation Serif subsets (regular and bold; the report's serif) carry the Vietnamese
    # letters.
    fonts = {str(f.get_object()["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert {name.split("+")[-1] for name in fonts} == {"LiberationSerif", "LiberationSerifBold"}


def test_a_long_achievement_still_fits_one_page() -> None:
    long = replace(SCHOOL, achievement="xuất sắc trong xây dựng mô hình tự quản về an ninh trật tự " * 12)
    assert len(pypdf.PdfReader(io.BytesIO(render([long], place="Sơn Lâm"))).pages) == 1


def test_missing_fonts_are_named() -> None:
    with pytest.raises(FileNotFoundError, match=r"LiberationSerif-Regular\.ttf"):
        render([SCHOOL], place="Sơn Lâm", font_dir=Path("/nonexistent"))


def test_codes_are_random_in_their_alphabet_and_read_back_however_typed() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 12 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01IO") & set(CODE_ALPHABET)
    code = new_code()
    assert canonical_code(printed_code(code).lower()) == code
    assert canonical_code(" " + printed_code(code).replace("-", " ") + " ") == code
    assert canonical_code("K7QM-3XHD-P9T0") is None  # a zero is never in a code
    assert canonical_code("K7QM-3XHD") is None
    assert canonical_code("'; DROP TABLE certificates; --") is None


def who(*roles: str, unit_id: str | None = None) -> Principal:
    return Principal(subject="t", roles=frozenset(roles), unit_id=unit_id)


def test_each_form_is_issued_by_its_deciding_role_or_admin() -> None:
    ensure_may_issue(who(ADMIN), "merit")
    ensure_may_issue(who(CHAIRMAN_OFFICE), "merit")
    ensure_may_issue(who(POLICE), "commendation")
    for principal, form in ((who(POLICE), "merit"), (who(CHAIRMAN_OFFICE), "commendation"),
                            (who(UNIT_OFFICER, unit_id=str(uuid.uuid4())), "merit")):  # fmt: skip
        with pytest.raises(PermissionDenied):
            ensure_may_issue(principal, form)


def test_issuing_names_award_ids_or_a_decision_not_both() -> None:
    ensure_issue_request(["x"], "")
    ensure_issue_request([], "1234/QĐ-UBND")
    for ids, number in (([], ""), (["x"], "1234/QĐ-UBND"), ([], "  ")):
        with pytest.raises(InvalidArgument):
            ensure_issue_request(ids, number)


def test_the_public_rate_limit_counts_per_address_and_minute() -> None:
    limit = RateLimit(per_minute=3, max_clients=2)
    assert [limit.allow("a", now=60.0) for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b", now=61.0)
    assert limit.allow("a", now=120.0)  # a new minute
    limit.allow("c", now=121.0)
    assert len(limit.windows) == 2  # the oldest address was forgotten
