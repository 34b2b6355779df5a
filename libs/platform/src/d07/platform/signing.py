"""The signature block of a Vietnamese administrative document, in the forms of signing of Decree
30/2020/NĐ-CP (Article 13 and Appendix I): who signs, on whose behalf. Pure functions, no I/O.

- the head signs in their own name: the head's title (``CHỦ TỊCH``);
- ``TM.`` (thay mặt): on behalf of a collective body (``TM. ỦY BAN NHÂN DÂN``), then the signer's title;
- ``KT.`` (ký thay): a deputy signs for the head (``KT. CHỦ TỊCH`` over ``PHÓ CHỦ TỊCH``);
- ``Q.`` (quyền): an acting head (``Q. CHỦ TỊCH``);
- ``TL.`` (thừa lệnh) and ``TUQ.`` (thừa ủy quyền): the head of an office or a person authorised signs for the
  head (``TL. CHỦ TỊCH`` over ``CHÁNH VĂN PHÒNG``).

``TM.`` may stand above ``KT.`` (``TM. ỦY BAN NHÂN DÂN`` / ``KT. CHỦ TỊCH`` / ``PHÓ CHỦ TỊCH``). The lines are
upper case and bold in the document; the signer's full name follows them after the space for the signature.
"""

from __future__ import annotations

from dataclasses import dataclass

from d07.platform.errors import FieldProblem, InvalidArgument

# The forms, by the code a request gives: "" (or "HEAD") is the head signing in their own name.
FORMS: dict[str, str] = {"": "", "TM": "TM.", "KT": "KT.", "Q": "Q.", "TL": "TL.", "TUQ": "TUQ."}
# The forms where someone other than the head signs: the signer's own title stands under the head's.
_BELOW_HEAD = frozenset({"KT", "TL", "TUQ"})


@dataclass(frozen=True)
class Signature:
    """Who signs and how: `form` one of FORMS, `body` the collective body of ``TM.`` (and optionally above
    ``KT.``, ``Q.``, ``TL.``, ``TUQ.``), `head` the head's title, `title` the signer's own title (a deputy's,
    an office head's; the head's when empty), `name` the signer's full name."""

    form: str
    head: str
    name: str
    title: str = ""
    body: str = ""

    def lines(self) -> list[str]:
        """The authority lines above the signature, upper case, top to bottom."""
        up = _upper
        out = [f"TM. {up(self.body)}"] if self.body else []
        if self.form == "Q":
            out.append(f"Q. {up(self.head)}")
        elif self.form in _BELOW_HEAD:
            out += [f"{FORMS[self.form]} {up(self.head)}", up(self.title)]
        else:  # the head in person, alone or for the body
            out.append(up(self.title or self.head))
        return out


def signature(form: str, *, head: str, name: str, title: str = "", body: str = "") -> Signature:
    """A signature block from a request's fields; INVALID_ARGUMENT naming the field when it cannot be one
    (an unknown form, ``TM.`` without its body, ``KT.``/``TL.``/``TUQ.`` without the signer's own title)."""
    code = form.strip().upper().rstrip(".")
    code = "" if code == "HEAD" else code  # a request's way of saying "the head in person"
    if code not in FORMS:
        raise InvalidArgument(
            f"unknown form of signing {form!r}", code="invalid_signing_form",
            fields=[FieldProblem("signing_form", "one of " + ", ".join(f or '""' for f in FORMS))],
        )  # fmt: skip
    problems = []
    if not head.strip():
        problems.append(FieldProblem("signer_head", "the head's title, e.g. CHỦ TỊCH"))
    if code == "TM" and not body.strip():
        problems.append(FieldProblem("signing_body", "the collective body signed for, e.g. ỦY BAN NHÂN DÂN"))
    if code in _BELOW_HEAD and not title.strip():
        problems.append(FieldProblem("signer_title", "the signer's own title, e.g. PHÓ CHỦ TỊCH"))
    if not name.strip():
        problems.append(FieldProblem("signer_name", "the signer's full name"))
    if problems:
        raise InvalidArgument("the signature block is incomplete", code="invalid_signature", fields=problems)
    return Signature(code, " ".join(head.split()), " ".join(name.split()), " ".join(title.split()),
                     " ".join(body.split()))  # fmt: skip


def _upper(text: str) -> str:
    return text.upper()
