"""The DOCX of the review report: the province's template (a Word file, data in the repository or wherever
D07_REPORT_TEMPLATE points) filled by docxtpl with `Document.context()`. Beside domain.py rather than in it:
it reads the template from disk."""

from __future__ import annotations

import io
from pathlib import Path

from docxtpl import DocxTemplate

from reporting.exports.domain import Document

DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "templates" / "bao-cao.docx"


def render(document: Document, template: Path = DEFAULT_TEMPLATE) -> bytes:
    """The filled template; the request's texts are escaped (an agency called "A & B" stays that)."""
    tpl = DocxTemplate(str(template))
    tpl.render(document.context(), autoescape=True)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()
