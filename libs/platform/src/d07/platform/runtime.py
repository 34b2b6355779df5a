"""The roles of a service process, built from one `ServiceSpec`: serve, relay, consume, migrate, rebuild.

`python -m <service> serve` runs HTTP and gRPC in one process and, unless D07_INPROCESS_WORKERS=false, the
outbox relay and the consumers too (the local run). In Kubernetes each role can be its own Deployment.
SIGTERM or SIGINT stops a process gracefully (docs/platform.md, "An orderly stop"): servers stop taking calls
while consumers finish their batch and commit and the relay its round, then the pool is closed; exit 0.
`rebuild` (a service that declares `read_models`) empties its read models, replays its consumers' topics into
them from the first offsets (`d07.platform.events.replay`), prints what it did and exits: 0 when complete, 1
when stopped early or failed, 2 when the service has nothing to rebuild.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
import typing
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import grpc
import uvicorn
from fastapi import APIRouter
from google.protobuf.message import Message

from d07.platform import audit_api, db
from d07.platform.auth import TokenVerifier
from d07.platform.events.consumer import BatchHandler, ConsumerRunner, Handler
from d07.platform.events.envelope import Decoder
from d07.platform.events.outbox import OutboxRelay
from d07.platform.events.replay import Rebuild, rebuild
from d07.platform.grpc import GrpcServer, build_server
from d07.platform.http import create_app
from d07.platform.httpserver import limited_httptools
from d07.platform.logging import configure_logging, get_logger
from d07.platform.metrics import POOLS, record_build_info
from d07.platform.proxies import parse_networks
from d07.platform.readiness import Readiness, broker_check, database_check
from d07.platform.settings import ServiceSettings
from d07.platform.uow import UnitOfWork

log = get_logger(__name__)


# A periodic job of a service (for example an overdue check): runs until the event is set.
Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


# What a consumer handles: per topic, a handler per message class. The topics it subscribes to, the messages
# its decoder knows and the handler of each event type are all derived from this one table.
HandlerTable = Mapping[str, Mapping[type[Message], Handler]]


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer group of a service: its handler table (topic → message class → handler), or the topics it
    reads with one batch handler (and, for a format other than CloudEvents protobuf, its decoder)."""

    name: str
    table: HandlerTable = field(default_factory=dict)
    batch_handler: BatchHandler | None = None
    # With a batch handler: the topics and the message classes its decoder knows.
    batch_topics: Sequence[str] = ()
    batch_messages: Sequence[type[Message]] = ()
    decoder: Decoder | None = None
    batch_max: int = 500

    def __post_init__(self) -> None:
        if bool(self.table) == (self.batch_handler is not None):
            raise ValueError(f"consumer {self.name}: give either a handler table or a batch handler")
        # An event is dispatched by its type alone: one message class on two topics needs one handler.
        chosen: dict[type[Message], Handler] = {}
        for topic, by_message in self.table.items():
            for cls, handler in by_message.items():
                if chosen.setdefault(cls, handler) is not handler:
                    raise ValueError(
                        f"consumer {self.name}: {cls.DESCRIPTOR.full_name} has two handlers (one on "
                        f"{topic}): an event goes to the handler of its type, whatever its topic"
                    )

    @property
    def topics(self) -> list[str]:
        return list(self.table) if self.table else list(self.batch_topics)

    @property
    def messages(self) -> list[type[Message]]:
        if not self.table:
            return list(self.batch_messages)
        seen: dict[str, type[Message]] = {}
        for by_message in self.table.values():
            for cls in by_message:
                seen.setdefault(cls.DESCRIPTOR.full_name, cls)
        return list(seen.values())

    @property
    def handlers(self) -> dict[str, Handler] | None:
        if not self.table:
            return None
        return {
            cls.DESCRIPTOR.full_name: handler
            for by_message in self.table.values()
            for cls, handler in by_message.items()
        }


U = TypeVar("U", bound=UnitOfWork)
D = TypeVar("D", bound="Deps")


@dataclass
class Deps:
    """What a service's doors, consumers and workers are built from (the composition root's output).

    A service extends it with its own typed fields (its settings class, peers' clients, caches) in a dataclass
    subclass that its `ServiceSpec.deps` builds once at start; the doors take that subclass.
    """

    settings: ServiceSettings
    pool: asyncpg.Pool
    verifier: TokenVerifier
    # The events' source (`/d07/<service>`).
    source: str = ""

    def uow(self, cls: type[U]) -> U:
        """A new unit of work of the aggregate's kind over this process's pool."""
        return cls(self.pool, source=self.source)

    def extend(self, cls: type[D], **fields: Any) -> D:
        """This process's dependencies as the service's own subclass `cls`, with its extra `fields`; checks
        once that the settings are of the type `cls` declares."""
        settings_type = typing.get_type_hints(cls).get("settings", ServiceSettings)
        if not isinstance(self.settings, settings_type):
            got = type(self.settings).__name__
            raise TypeError(f"{cls.__name__} needs {settings_type.__name__}, not {got}")
        base = {f.name: getattr(self, f.name) for f in dataclasses.fields(Deps)}
        return cls(**base, **fields)


# A service's own dependencies: built from the process's at start, closed at stop.
DepsFactory = Callable[[Deps], contextlib.AbstractAsyncContextManager[Any]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    settings: Callable[[], ServiceSettings]
    migrations_dir: Path
    grpc_services: Sequence[str]
    register_grpc: Callable[[grpc.aio.Server, Any], None]
    routers: Callable[[Any], Sequence[APIRouter]]
    consumers: Callable[[Any], Sequence[ConsumerSpec]] = lambda deps: ()
    # The service's typed dependencies (settings, peers' clients, caches), built once from the process's
    # (an async context manager: what it opens, it closes at stop). None: the doors take `Deps` itself.
    deps: DepsFactory | None = None
    # Extra periodic workers of the service (for example overdue checks), run beside the relay.
    workers: Callable[[Any], Sequence[Worker]] = lambda deps: ()
    # Routers served WITHOUT a bearer token (public facts only, e.g. verifying a certificate's code).
    public_routers: Callable[[Any], Sequence[APIRouter]] = lambda deps: ()
    # The tables the consumers fill from events alone (read models, projections): `rebuild` empties exactly
    # these and replays the consumers' topics into them. Empty: the service has nothing to rebuild.
    read_models: Sequence[str] = ()
    # HTTP paths whose JSON body is a batch checked item by item by its route (a bad item refused by its
    # index, the good ones kept): the platform's edge leaves the text of their body to the route.
    per_item_bodies: Sequence[str] = ()
    # The audit API for auditors (d07.platform.audit_api: gRPC d07.common.v1.AuditService and HTTP
    # GET /v1/audit-records over this service's trail), served beside the service's own doors.
    audit_api: bool = False

    def all_grpc_services(self) -> list[str]:
        """The gRPC services this process serves: its own, and the audit API's."""
        return [*self.grpc_services, *([audit_api.SERVICE_NAME] if self.audit_api else [])]

    def register_all_grpc(self, server: grpc.aio.Server, deps: Any) -> None:
        self.register_grpc(server, deps)
        if self.audit_api:
            audit_api.register(server, deps)

    def all_routers(self, deps: Any) -> list[APIRouter]:
        """The routers behind bearer auth: the service's own, and the audit API's."""
        return [*self.routers(deps), *([audit_api.router(deps)] if self.audit_api else [])]


def migrations(spec: ServiceSpec) -> list[db.Migration]:
    return db.all_migrations(spec.name, spec.migrations_dir)


async def open_pool(settings: ServiceSettings, stop: asyncio.Event | None = None) -> asyncpg.Pool:
    """Connect, waiting (with capped backoff) while the database is not there yet."""
    delay = 0.2
    while True:
        try:
            return await db.create_pool(
                settings.resolved_database_url(),
                schema=settings.db_schema,
                min_size=settings.db_pool_min,
                max_size=settings.db_pool_max,
            )
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            if stop is not None and stop.is_set():
                raise
            log.warning("database_unreachable", error=str(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def run_migrate(spec: ServiceSpec, settings: ServiceSettings) -> list[str]:
    conn = await asyncpg.connect(settings.resolved_migrator_database_url())
    try:
        return await db.migrate(conn, schema=settings.db_schema, migrations=migrations(spec))
    finally:
        await conn.close()


def make_verifier(settings: ServiceSettings) -> TokenVerifier:
    return TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        jwks_file=settings.resolved_jwks_file(),
        jwks_url=settings.jwks_url,
    )


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn inside a process that owns its signals: the process's stop event ends the server, so uvicorn
    must neither take SIGTERM/SIGINT for itself nor raise them again when it exits."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _install_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


class Process:
    """The running parts of one service process; `run(role)` until `stop` is set."""

    def __init__(self, spec: ServiceSpec, settings: ServiceSettings | None = None) -> None:
        self.spec = spec
        self.settings = settings or spec.settings()
        self.stop = asyncio.Event()
        self.deps: Deps | None = None
        self.grpc: GrpcServer | None = None
        self.http: uvicorn.Server | None = None
        self.readiness = Readiness()
        self._tasks: list[asyncio.Task[None]] = []
        self.failed = False
        # The exit code when nothing failed: 2 for a rebuild with nothing to rebuild.
        self.exit_code = 0
        self.rebuilt: Rebuild | None = None
        self._exit = contextlib.AsyncExitStack()

    async def _prepare(self) -> Deps:
        pool = await open_pool(self.settings, self.stop)
        POOLS.watch(self.spec.name, pool)
        verifier = make_verifier(self.settings)
        base = Deps(settings=self.settings, pool=pool, verifier=verifier, source=f"/d07/{self.spec.name}")
        deps = base
        if self.spec.deps is not None:
            try:
                deps = await self._exit.enter_async_context(self.spec.deps(base))
            except BaseException:
                await pool.close()
                raise
        self.deps = deps
        return deps

    def _consumers(self, deps: Deps) -> list[ConsumerRunner]:
        runners = []
        bootstrap = self.settings.resolved_kafka_bootstrap()
        for c in self.spec.consumers(deps):
            runners.append(
                ConsumerRunner(
                    pool=deps.pool,
                    bootstrap=bootstrap,
                    group_id=f"{self.settings.consumer_group or self.spec.name}.{c.name}",
                    consumer_name=c.name,
                    topics=list(c.topics),
                    handlers=c.handlers,
                    batch_handler=c.batch_handler,
                    decoder=c.decoder,
                    messages=list(c.messages),
                    batch_max=c.batch_max,
                    session_timeout_ms=self.settings.consumer_session_timeout_ms,
                )
            )
        return runners

    def _start_workers(self, deps: Deps, *, relay: bool, consume: bool) -> list[ConsumerRunner]:
        runners: list[ConsumerRunner] = []
        if relay:
            relay_ = OutboxRelay(
                deps.pool, schema=self.settings.db_schema, bootstrap=self.settings.resolved_kafka_bootstrap()
            )
            self._spawn(relay_.run(self.stop), "outbox-relay")
            for n, worker in enumerate(self.spec.workers(deps)):
                self._spawn(worker(self.stop), f"worker-{n}")
        if consume:
            runners = self._consumers(deps)
            for r in runners:
                self._spawn(r.run(), f"consumer-{r.consumer_name}")
        return runners

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run a worker; if it dies of an error, the whole process stops with it (and exits non-zero), so an
        orchestrator restarts it instead of leaving a process that serves without its workers."""
        task = asyncio.create_task(work, name=name)

        def done(t: asyncio.Task[None]) -> None:
            if t.cancelled() or t.exception() is None:
                return
            log.error("worker_failed", worker=name, error=repr(t.exception()), exc_info=t.exception())
            self.failed = True
            self.stop.set()

        task.add_done_callback(done)
        self._tasks.append(task)

    async def run(self, role: str) -> None:
        _install_signals(self.stop)
        record_build_info(self.spec.name)
        if role == "migrate":
            applied = await run_migrate(self.spec, self.settings)
            log.info("migrated", applied=applied)
            return
        if role == "rebuild" and not self.spec.read_models:
            log.error("nothing_to_rebuild", service=self.spec.name)
            self.exit_code = 2
            return
        if self.settings.env == "dev" and role == "serve":
            await self._migrate_with_retry()
        deps = await self._prepare()
        self.readiness.add(
            "database",
            database_check(deps.pool, schema=self.settings.db_schema, migrations=migrations(self.spec)),
        )
        self.readiness.add("broker", broker_check(self.settings.resolved_kafka_bootstrap()))
        runners: list[ConsumerRunner] = []

        async def stop_runners_at_once() -> None:
            # The consumers finish their batch in hand while the servers drain, not after them.
            await self.stop.wait()
            for r in runners:
                r.stop()

        stopper = asyncio.create_task(stop_runners_at_once(), name="stop-consumers")
        try:
            if role == "serve":
                inproc = self.settings.inprocess_workers
                runners = self._start_workers(deps, relay=inproc, consume=inproc)
                await self._serve(
                    deps,
                    routers=self.spec.all_routers(deps),
                    public_routers=self.spec.public_routers(deps),
                    with_grpc=True,
                )
            elif role in ("relay", "consume"):
                # A worker process serves only /healthz, /readyz and /metrics: it can be probed and scraped.
                runners = self._start_workers(deps, relay=role == "relay", consume=role == "consume")
                await self._serve(deps, routers=(), with_grpc=False)
            elif role == "rebuild":
                runners = self._consumers(deps)
                await self._rebuild(deps, runners)
            else:
                raise SystemExit(f"unknown role {role!r}: serve | relay | consume | migrate | rebuild")
        finally:
            self.stop.set()
            stopper.cancel()
            for r in runners:
                r.stop()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=30)
            await self._exit.aclose()
            await deps.pool.close()
            log.info("stopped", role=role)

    async def _rebuild(self, deps: Deps, runners: list[ConsumerRunner]) -> None:
        """Empty the read models and replay the consumers' topics into them; SIGTERM stops it early."""
        if not runners:
            log.error("nothing_to_rebuild", service=self.spec.name, reason="no consumers")
            self.exit_code = 2
            return
        async with deps.pool.acquire() as conn:
            pending = await db.pending_migrations(
                conn, schema=self.settings.db_schema, migrations=migrations(self.spec)
            )
        if pending:
            raise RuntimeError(f"migrations not applied ({', '.join(pending)}): run migrate first")

        async def stop_runners() -> None:
            await self.stop.wait()
            for r in runners:
                r.stop()

        watcher = asyncio.create_task(stop_runners())
        try:
            self.rebuilt = await rebuild(deps.pool, tables=self.spec.read_models, runners=runners)
        finally:
            watcher.cancel()
        if not self.rebuilt.complete:
            self.failed = True

    async def _migrate_with_retry(self) -> None:
        delay = 0.2
        while True:
            try:
                await run_migrate(self.spec, self.settings)
                return
            except (OSError, asyncpg.CannotConnectNowError) as exc:
                log.warning("database_unreachable", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _serve(
        self,
        deps: Deps,
        *,
        routers: Sequence[APIRouter],
        with_grpc: bool,
        public_routers: Sequence[APIRouter] = (),
    ) -> None:
        s = self.settings
        if with_grpc:
            self.grpc = build_server(
                service_names=self.spec.all_grpc_services(),
                register=lambda server: self.spec.register_all_grpc(server, deps),
                verifier=deps.verifier,
                readiness=self.readiness,
                host=s.grpc_host,
                port=s.grpc_port,
                trusted_proxies=parse_networks(s.trusted_proxies),
                max_receive_bytes=s.grpc_max_receive_bytes,
                max_metadata_bytes=s.http_max_header_bytes,
            )
            await self.grpc.start()
        app = create_app(
            title=self.spec.title,
            service=self.spec.name,
            verifier=deps.verifier,
            readiness=self.readiness,
            routers=routers,
            public_routers=public_routers,
            trusted_proxies=s.trusted_proxies.split(","),
            max_body_bytes=s.http_max_body_bytes,
            per_item_bodies=self.spec.per_item_bodies,
        )
        config = uvicorn.Config(
            app,
            host=s.http_host,
            port=s.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
            loop="none",
            http=limited_httptools(s.http_max_header_bytes),
            # X-Forwarded-For is the platform's to judge (D07_TRUSTED_PROXIES), not uvicorn's: by default
            # uvicorn believes it from 127.0.0.1, so any local client could choose its address.
            proxy_headers=False,
        )
        self.http = _EmbeddedUvicorn(config)
        http_task = asyncio.create_task(self.http.serve(), name="http")
        grpc_at = f"{s.grpc_host}:{self.grpc.port}" if self.grpc else "-"
        log.info("serving", http=f"{s.http_host}:{s.http_port}", grpc=grpc_at)
        stop_task = asyncio.create_task(self.stop.wait())
        done, _ = await asyncio.wait({http_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        self.http.should_exit = True
        if self.grpc is not None:
            await self.grpc.stop(5.0)
        with contextlib.suppress(asyncio.CancelledError):
            await http_task
        stop_task.cancel()
        if http_task in done and not self.stop.is_set() and http_task.exception() is not None:
            raise RuntimeError("the HTTP server failed") from http_task.exception()


ROLES = ("serve", "relay", "consume", "migrate", "rebuild")


def main(spec: ServiceSpec, argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {spec.name}", description=spec.title)
    parser.add_argument("role", nargs="?", default="serve", choices=ROLES)
    args = parser.parse_args(argv)
    if args.role == "rebuild" and not spec.read_models:
        parser.exit(2, f"{parser.prog} rebuild: {spec.name} declares no read models: nothing to rebuild\n")
    settings = spec.settings()
    configure_logging(spec.name, settings.log_level)
    process = Process(spec, settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(process.run(args.role))
    if process.rebuilt is not None:
        print(f"{parser.prog} rebuild\n{process.rebuilt.summary()}", flush=True)
    if process.exit_code == 2:
        parser.exit(2, f"{parser.prog} rebuild: {spec.name} has no consumers: nothing to rebuild\n")
    sys.exit(1 if process.failed else process.exit_code)


def service_token_provider(settings: ServiceSettings) -> Callable[[], str]:
    """The token this service presents to its peers: D07_SERVICE_TOKEN, or in dev one minted from the dev key
    (renewed before it expires)."""
    if settings.service_token:
        fixed = settings.service_token
        return lambda: fixed
    if settings.env != "dev":
        raise ValueError("D07_SERVICE_TOKEN is required outside dev")
    import time

    from d07.platform.auth import SERVICE, ensure_dev_keys, issue_token
    from d07.platform.settings import RUN_DIR

    key_path, _ = ensure_dev_keys(
        Path(settings.resolved_jwks_file()).parent if settings.jwks_file else RUN_DIR
    )
    cache: dict[str, Any] = {"token": "", "until": 0.0}

    def provide() -> str:
        if time.time() > cache["until"]:
            cache["token"] = issue_token(
                key_path.read_bytes(),
                roles=[SERVICE],
                subject=f"service:{settings.service}",
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=3600,
            )
            cache["until"] = time.time() + 3000
        return str(cache["token"])

    return provide
