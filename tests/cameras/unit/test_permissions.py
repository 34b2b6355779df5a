"""The cameras' one permissions table is what the README says and what the handlers use."""

from __future__ import annotations

import re
from pathlib import Path

from cameras import permissions
from cameras.detections import service as detections
from cameras.network import service as network
from cameras.violations import service as violations

README = Path(__file__).resolve().parents[3] / "services" / "cameras" / "README.md"


def test_the_readme_permissions_table_is_generated_from_the_table() -> None:
    text = README.read_text()
    generated = text.split("<!-- permissions:begin (generated) -->\n", 1)[1].split(
        "<!-- permissions:end -->"
    )[0]
    assert generated == permissions.markdown()


def test_the_readme_role_lists_of_the_api_tables_match_the_table() -> None:
    """Every row of the README's API tables that names its roles outright names the table's roles."""
    by_method = {op.grpc.split("/")[1]: set(op.roles) for op in permissions.OPERATIONS}
    names = {r.strip() for op in permissions.OPERATIONS for r in op.roles}
    checked = 0
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        roles = {r.strip() for r in cells[2].split(",")}
        if not roles <= names:
            continue  # prose ("readers; ..."): described in the text below the table
        for method in re.findall(r"`(\w+)`", cells[0]):
            if method in by_method:
                assert by_method[method] == roles, (method, roles)
                checked += 1
    assert checked >= 10


def test_the_handlers_take_their_roles_from_the_table() -> None:
    assert network.MANAGERS is permissions.CAMERA_MANAGERS
    assert network.READERS is permissions.CAMERA_READERS
    assert network.PROVINCE_READERS is permissions.CAMERA_PROVINCE_READERS
    assert network.HEARTBEAT_SENDERS is permissions.HEARTBEAT_SENDERS
    assert detections.SENDERS is permissions.DETECTION_SENDERS
    assert violations.READERS is permissions.VIOLATION_READERS
    assert violations.COMMENTERS is permissions.VIOLATION_COMMENTERS
    assert violations.KIND_READERS is permissions.KIND_READERS
    assert set(violations.ROLES.values()) == {
        permissions.ACKNOWLEDGERS,
        permissions.HANDERS_OVER,
        permissions.POLICE_HANDLERS,
    }
