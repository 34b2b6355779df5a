"""Pure rules of cameras: no I/O."""

from __future__ import annotations

import pytest

from cameras.network.domain import CreateCamera, validate
from d07.platform.errors import InvalidArgument


def test_a_valid_camera_is_normalised() -> None:
    cmd = validate(
        CreateCamera(code="cam-00017", name=" Ngã tư  Hùng Vương ", latitude=13.77, longitude=109.22)
    )
    assert (cmd.code, cmd.name, cmd.status) == ("CAM-00017", "Ngã tư Hùng Vương", "planned")


def test_positions_outside_vietnam_and_bad_codes_are_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate(
            CreateCamera(code="C17", name="x", latitude=48.85, longitude=2.35, unit_id="nope", status="on")
        )
    assert {f.field for f in err.value.fields} == {"code", "latitude", "longitude", "unit_id", "status"}
