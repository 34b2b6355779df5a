"""The camera directory: camera code -> (id, status, unit) and the kinds' rules, in memory.

Every detection names its camera by code; asking the database once per detection would cost more than the rest
of the path together. So each process keeps the network (3.200 rows) in memory and the Kafka decoder, which
cannot wait for the database, validates against it.

Staleness rule:
- The directory is reloaded in full whenever it is older than D07_DETECTION_CAMERA_REFRESH_SECONDS (10 s) at
  the start of a batch (of any door). A camera registered, decommissioned or moved to another unit is
  therefore seen by validation within that time.
- A code the directory does not know is never refused on the directory's word alone the first time: the batch
  looks it up in the database (one query for all such codes of the batch). A code the database does not know
  either is remembered as absent, and later detections with it are refused straight away, but only while the
  directory is fresh: a stale directory refuses nothing, the batch reloads it and checks again.
- Detections accepted on a stale directory are checked again after the reload, before anything is stored.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from cameras.detections import repository as repo
from cameras.detections.domain import CameraRef, Detection, KindRule
from d07.platform.db import Conn


class Unresolved:
    """The directory cannot say yet: the caller must look the code up in the database."""


UNRESOLVED = Unresolved()
ABSENT_MAX = 100_000


class Directory:
    def __init__(self, *, refresh_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.by_code: dict[str, CameraRef] = {}
        self.by_id: dict[uuid.UUID, CameraRef] = {}
        self.absent: set[str] = set()
        self.kinds: dict[str, KindRule] = {}
        self.loaded_at: float | None = None
        self.seen: dict[uuid.UUID, datetime] = {}

    @property
    def fresh(self) -> bool:
        return self.loaded_at is not None and self.clock() - self.loaded_at < self.refresh_seconds

    def lookup(self, code: str) -> CameraRef | Unresolved | None:
        """Without waiting: the camera, None when it is known to be absent, or UNRESOLVED."""
        camera = self.by_code.get(code)
        if camera is not None:
            return camera
        if code in self.absent and self.fresh:
            return None
        return UNRESOLVED

    async def ensure_fresh(self, conn: Conn) -> None:
        if not self.fresh:
            await self.reload(conn)

    async def reload(self, conn: Conn) -> None:
        started = self.clock()
        cameras = await repo.load_cameras(conn)
        self.kinds = await repo.load_kinds(conn)
        self._set(cameras)
        self.absent = {code for code in self.absent if code not in self.by_code}
        self.loaded_at = started

    async def resolve(self, conn: Conn, codes: Iterable[str]) -> None:
        """Look up codes the directory does not know: the ones found join it, the others are remembered as
        absent (a bounded memory: garbage codes cannot make it grow without end)."""
        wanted = sorted({c for c in codes if c not in self.by_code})
        if not wanted:
            return
        found = await repo.find_cameras(conn, wanted)
        for camera in found:
            self.by_code[camera.code] = camera
            self.by_id[camera.id] = camera
        if len(self.absent) > ABSENT_MAX:
            self.absent.clear()
        self.absent.update(set(wanted) - {c.code for c in found})

    def not_seen_lately(
        self, items: Iterable[tuple[Detection, CameraRef]], resolution_seconds: float
    ) -> dict[uuid.UUID, datetime]:
        """The newest detection time per camera, for the cameras this process has not reported seen within
        `resolution_seconds` before it: the health check ignores signs closer together than that anyway, so a
        busy camera costs it one row a second instead of one per batch."""
        latest: dict[uuid.UUID, datetime] = {}
        for d, camera in items:
            if camera.id not in latest or d.occurred_at > latest[camera.id]:
                latest[camera.id] = d.occurred_at
        step = timedelta(seconds=resolution_seconds)
        due = {cid: at for cid, at in latest.items() if cid not in self.seen or at > self.seen[cid] + step}
        self.seen.update(due)
        return due

    def _set(self, cameras: Sequence[CameraRef]) -> None:
        self.by_code = {c.code: c for c in cameras}
        self.by_id = {c.id: c for c in cameras}
