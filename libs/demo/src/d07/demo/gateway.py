"""A simulated camera gateway for the local run: heartbeats for the healthy installed cameras every minute (so
they stay online past the cameras service's silence threshold) and now and then a detection that opens a
violation, through the same public HTTP doors a real gateway uses. Stops on SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx

from d07.demo import plan
from d07.demo.client import ApiClient, ApiError, Urls


async def run(
    urls: Urls,
    key_pem: bytes,
    *,
    every: float = 60.0,
    detection_every: float = 300.0,
    stop: asyncio.Event,
    rng: random.Random | None = None,
) -> None:
    rng = rng or random.Random()
    api = ApiClient(urls, key_pem, concurrency=4)
    gateway, operator = api.as_role("camera_gateway"), api.as_role("dic_operator")
    codes: list[str] = []
    listed_at = -1e9
    detected_at = time.monotonic()
    complained = False
    try:
        while not stop.is_set():
            try:
                if not codes or time.monotonic() - listed_at > 600:
                    found = await operator.all_items(f"{urls.cameras}/v1/cameras?status=installed")
                    codes = [c["code"] for c in found if plan.healthy(c["code"])]
                    listed_at = time.monotonic()
                for i in range(0, len(codes), 5000):
                    beats = [{"camera_id": c} for c in codes[i : i + 5000]]
                    await gateway.post(
                        f"{urls.cameras}/v1/heartbeats", json={"heartbeats": beats}, what="heartbeats"
                    )
                if codes and time.monotonic() - detected_at >= detection_every:
                    kind, _, confidence = rng.choice(plan.DETECTION_KINDS)
                    item = {
                        "detection_id": str(uuid.uuid4()),
                        "camera_id": rng.choice(codes),
                        "occurred_at": datetime.now(UTC).isoformat(),
                        "kind": kind,
                        "confidence": confidence,
                    }
                    await gateway.post(f"{urls.cameras}/v1/detections:batch", json=[item], what="detection")
                    detected_at = time.monotonic()
                complained = False
            except (httpx.TransportError, ApiError) as e:
                if not complained:  # the platform is starting or restarting: say it once, keep trying
                    print(f"demo gateway: {e}", file=sys.stderr, flush=True)
                    complained = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every if codes else 5.0)
    finally:
        await api.aclose()


def main(urls: Urls, key_pem: bytes, every: float) -> int:
    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(urls, key_pem, every=every, stop=stop)

    asyncio.run(go())
    return 0
