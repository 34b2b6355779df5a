"""The PDF of certificates (fpdf2): one A4 landscape page per certificate, laid out by `domain.layout`.

Kept beside domain.py rather than in it: the texts and the layout are the domain's (pure, tested alone), while
this module reads the font files from disk and is heavy enough to run in a worker thread (service.py).

The PDF core fonts have no Vietnamese letters, so Liberation Serif (regular and bold; metric-compatible with
Times New Roman, the serif of the review report and of Decree 30/2020's documents, with every Vietnamese
diacritic; Debian's fonts-liberation2) is embedded: fpdf2 subsets the TrueType font and writes a ToUnicode
map, which is what lets a reader search and copy the text with its diacritics intact. The font directory is
configurable (D07_CERTIFICATE_FONT_DIR) because images differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from awards.certificates.domain import CertificateFacts, Line, layout

FONT = "LiberationSerif"
FONT_FILES = {"": "LiberationSerif-Regular.ttf", "B": "LiberationSerif-Bold.ttf"}
DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
MARGIN = 20.0
# Line height as a multiple of the font size in points (a point is about 0.35 mm).
LEADING = 0.5


@dataclass(frozen=True)
class CertificateConfig:
    """What rendering needs: the place printed on the date line and where the fonts are (the doors take both
    from the service's settings, D07_CERTIFICATE_PLACE and D07_CERTIFICATE_FONT_DIR)."""

    place: str = "Sơn Lâm"
    font_dir: Path = DEFAULT_FONT_DIR


def font_files(font_dir: Path) -> dict[str, Path]:
    """The font files by style; FileNotFoundError naming what is missing (a deployment error)."""
    files = {style: font_dir / name for style, name in FONT_FILES.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"certificate fonts missing: {', '.join(missing)} (D07_CERTIFICATE_FONT_DIR)")
    return files


def render(
    certificates: Sequence[CertificateFacts], *, place: str, font_dir: Path = DEFAULT_FONT_DIR
) -> bytes:
    """One PDF, one page per certificate, in the order given."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    for style, path in font_files(font_dir).items():
        pdf.add_font(FONT, style=style, fname=str(path))
    pdf.set_title("Bằng khen, Giấy khen")
    pdf.set_creator("d07 awards")
    for facts in certificates:
        pdf.add_page()
        pdf.set_line_width(1.2)
        pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
        lines = layout(facts, place=place)
        # A long achievement text shrinks the whole page rather than running off it.
        scale = min(1.0, (pdf.h - 2 * MARGIN) / _height(pdf, lines, 1.0))
        pdf.set_y(MARGIN)
        _write(pdf, lines, scale)
    return bytes(pdf.output())


def _write(pdf: FPDF, lines: Sequence[Line], scale: float, *, dry_run: bool = False) -> float:
    """Write (or only measure, with `dry_run`) the lines; the height they take in millimetres."""
    total = 0.0
    width = pdf.w - 2 * MARGIN
    for line in lines:
        size = line.size * scale
        pdf.set_font(FONT, style="B" if line.bold else "", size=size)
        total += line.space_before * scale
        if dry_run:
            wrapped = pdf.multi_cell(width, size * LEADING, line.text, dry_run=True, output="LINES")
            assert isinstance(wrapped, list)  # output="LINES" returns the wrapped lines
            total += len(wrapped) * size * LEADING
            continue
        pdf.ln(line.space_before * scale)
        before = pdf.get_y()
        pdf.multi_cell(width, size * LEADING, line.text, align=line.align, new_x="LMARGIN", new_y="NEXT")
        total += pdf.get_y() - before
    return total


def _height(pdf: FPDF, lines: Sequence[Line], scale: float) -> float:
    return _write(pdf, lines, scale, dry_run=True)
