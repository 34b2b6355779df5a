"""A consumer that dies by SIGKILL right after its first database commit, before committing any offset.

Run by test_events_consumer.py as `python -m tests.platform.events_kill_consumer DSN SCHEMA BOOTSTRAP GROUP
TOPIC CONSUMER`: the test then restarts a consumer in the same group and checks that every event is applied
exactly once although the killed process's batch is delivered again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from d07.platform.db import create_pool
from d07.platform.events import BatchOutcome
from tests.platform.events_support import make_runner


async def main(dsn: str, schema: str, bootstrap: str, group: str, topic: str, consumer: str) -> None:
    pool = await create_pool(dsn, schema=schema, min_size=1, max_size=2)

    async def die(outcome: BatchOutcome) -> None:
        print(f"committed {len(outcome.applied)} events to the database; dying", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    runner = make_runner(
        pool,
        bootstrap,
        group_id=group,
        consumer_name=consumer,
        topics=[topic],
        batch_max=10,
        on_db_committed=die,
    )
    await runner.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
