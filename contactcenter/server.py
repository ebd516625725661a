"""Running the server: bring up the databases, migrate, then serve with one or more workers.

`--workers N` runs N processes that each bind the same port with SO_REUSEPORT and let the
kernel spread connections; they share nothing but PostgreSQL and Redis, exactly like N hosts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event as EventType
from types import FrameType

import asyncpg
import uvloop
from aiohttp import web

from contactcenter import logs
from contactcenter.actions import sync_workspace
from contactcenter.core import Core, connect_redis
from contactcenter.embedded import embedded_services
from contactcenter.settings import ConfigError, Settings
from contactcenter.store.db import connect, create_pool
from contactcenter.store.migrate import migrate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    redis_url: str


async def open_database(url: str) -> asyncpg.Connection:
    """Connect, turning a wrong or unreachable CC_DATABASE_URL into a configuration error."""
    try:
        return await asyncio.wait_for(connect(url), timeout=15)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise ConfigError("CC_DATABASE_URL", f"cannot connect to PostgreSQL: {exc}") from None


@contextlib.asynccontextmanager
async def connect_core(settings: Settings, endpoints: Endpoints) -> AsyncIterator[Core]:
    """The database and Redis, for a one-off command."""
    pool = await create_pool(endpoints.database_url, max_size=2)
    redis = connect_redis(endpoints.redis_url)
    try:
        yield Core(pool=pool, redis=redis, config=settings.file)
    finally:
        await redis.aclose()
        await pool.close()


async def prepare_database(settings: Settings, database_url: str) -> int:
    """Migrate and mirror the configured workspace; return the workspace id."""
    conn = await open_database(database_url)
    try:
        applied = await migrate(conn)
        for name in applied:
            log.info("applied migration %s", name)
        return await sync_workspace(conn, settings.file)
    finally:
        await conn.close()


def with_endpoints(settings: Settings, body: Callable[[Endpoints], int]) -> int:
    """Run body with the database and Redis URLs: the configured ones, or embedded servers
    started for the duration (and stopped after, also on SIGTERM)."""
    env = settings.env

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # unwinds through the `with` below, which stops the servers

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        with embedded_services(
            env.data_dir, need_postgres=env.database_url is None, need_redis=env.redis_url is None
        ) as (pg_url, redis_url):
            # embedded_services started exactly the servers the environment does not name.
            return body(Endpoints(env.database_url or str(pg_url), env.redis_url or str(redis_url)))
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(
    settings: Settings, endpoints: Endpoints, host: str, port: int, workers: int,
    announce: Callable[[str], None],
    seed: Callable[[Endpoints, int], Awaitable[None]] | None = None,
) -> int:
    async def setup() -> None:
        workspace_id = await prepare_database(settings, endpoints.database_url)
        if seed is not None:
            await seed(endpoints, workspace_id)

    asyncio.run(setup())
    base_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    if workers == 1:
        uvloop.run(_serve_until_signal(settings, endpoints, host, port, reuse_port=False,
                                        on_listening=lambda: announce(base_url)))
        return 0
    return _run_workers(settings, endpoints, host, port, workers, lambda: announce(base_url))


async def _serve_until_signal(
    settings: Settings, endpoints: Endpoints, host: str, port: int, *, reuse_port: bool,
    on_listening: Callable[[], None],
) -> None:
    """Serve until SIGINT or SIGTERM, then close connections and the app's resources."""
    from contactcenter.web.app import create_app

    runner = web.AppRunner(create_app(settings, endpoints.database_url, endpoints.redis_url),
                           handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port)
        try:
            await site.start()
        except OSError as exc:
            raise _port_error(host, port, exc) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        on_listening()
        await stop.wait()
    finally:
        await runner.cleanup()


def _port_error(host: str, port: int, exc: OSError) -> ConfigError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return ConfigError("--port", f"cannot listen on {host}:{port}: {reason}")


def _check_port_shareable(host: str, port: int) -> None:
    """Fail once, in the parent, if the workers could not bind, instead of once per worker."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _port_error(host, port, exc) from None


def _worker_main(
    settings: Settings, endpoints: Endpoints, host: str, port: int, ready: EventType
) -> None:
    logs.configure()
    try:
        uvloop.run(_serve_until_signal(settings, endpoints, host, port, reuse_port=True,
                                        on_listening=ready.set))
    except ConfigError as exc:
        print(f"contactcenter: configuration error: {exc.key}: {exc.problem}", file=sys.stderr)
        sys.exit(2)


def _run_workers(
    settings: Settings, endpoints: Endpoints, host: str, port: int, workers: int,
    on_listening: Callable[[], None],
) -> int:
    _check_port_shareable(host, port)
    ctx = multiprocessing.get_context("spawn")
    ready = [ctx.Event() for _ in range(workers)]
    procs = [
        ctx.Process(target=_worker_main, args=(settings, endpoints, host, port, ready[i]),
                    name=f"contactcenter-worker-{i}")
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        while not all(event.is_set() for event in ready):
            if any(not proc.is_alive() for proc in procs):
                return max(proc.exitcode or 1 for proc in procs if not proc.is_alive())
            time.sleep(0.05)
        on_listening()
        # A worker that dies takes the node down: a supervisor (systemd, Kubernetes) restarts
        # the whole node, which is simpler to reason about than half a node.
        multiprocessing.connection.wait([p.sentinel for p in procs])
        log.error("a worker exited; stopping the node")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=15)
            if proc.is_alive():
                proc.kill()
