"""The divisions' start job with a fake: the data file's version is loaded once, under the loading lock, and
writes no audit row and no event (it is reference data, not a change anyone asked for)."""

from __future__ import annotations

from registry.divisions import service
from tests.registry.service.fakes import FakeDivisionsUnitOfWork


async def test_the_data_file_is_loaded_once_per_version() -> None:
    uow = FakeDivisionsUnitOfWork()
    data = service.read()
    await service.ensure_loaded(uow)
    await service.ensure_loaded(uow)
    repo = uow.divisions
    assert repo.loaded == [data.version]  # type: ignore[attr-defined]
    assert repo.locks == 2  # type: ignore[attr-defined]
    assert repo.districts == {d.code for d in data.districts}  # type: ignore[attr-defined]
    assert (uow.audits, uow.events, uow.commits) == ([], [], 2)
