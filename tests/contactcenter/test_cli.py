"""The commands a newcomer runs, as real processes on the embedded PostgreSQL and Redis."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis

from tests.conftest import free_port

STARTUP_LIMIT_SECONDS = 30


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CC_", "TWILIO_"))}
    return env | {"CC_DATA_DIR": str(data_dir)} | extra


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait_healthy(proc: subprocess.Popen[str], port: int) -> float:
    start = time.monotonic()
    while time.monotonic() - start < STARTUP_LIMIT_SECONDS:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"exited with {proc.returncode}: {output}")
        try:
            status, _ = _get(f"http://127.0.0.1:{port}/healthz")
            if status == 200:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"/healthz did not answer 200 within {STARTUP_LIMIT_SECONDS} s")


def _embedded_pids(data_dir: Path) -> set[int]:
    """Processes of the embedded PostgreSQL and Redis serving data_dir."""
    found = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and ("postgres" in cmdline or "redis-server" in cmdline):
            found.add(proc.info["pid"])
    return {p for p in found if psutil.pid_exists(p)
            and psutil.Process(p).status() != psutil.STATUS_ZOMBIE}


def _postmaster_and_redis(data_dir: Path) -> tuple[int, int]:
    pg = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    redis = int((data_dir / "redis" / "redis.pid").read_text().strip())
    return pg, redis


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ccdata"
    yield path
    for pid in _embedded_pids(path):  # whatever a failed test left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "contactcenter", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _add_user(env: dict[str, str], email: str, name: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "contactcenter", "user", "add", "--email", email, "--name", name,
         "--role", "agent", "--skill", "support=6", "--skill", "english=9", "--password-stdin"],
        env=env, input=password + "\n", capture_output=True, text=True, timeout=90)


def _login(port: int, email: str, password: str) -> dict[str, Any]:
    """Log in over HTTP; the logged-in user's record."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/login", method="POST",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        user: dict[str, Any] = json.loads(resp.read())["user"]
        return user


def _wait_gone(pids: set[int], timeout: float = 20) -> set[int]:
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE}
        time.sleep(0.1)
    return alive


def test_demo_survives_sigkill_and_stops_cleanly_on_sigterm(data_dir: Path) -> None:
    port = free_port()
    env = _env(data_dir)
    added = _add_user(env, "zoe@example.com", "Zoe Park", "a long enough password")
    assert added.returncode == 0, added.stderr
    assert _embedded_pids(data_dir) == set(), "a one-off command stops what it started"

    first = _start(["demo", "--port", str(port)], env)
    _wait_healthy(first, port)
    servers = _postmaster_and_redis(data_dir)
    first.kill()
    first.wait(10)
    assert first.stdout is not None
    banner = first.stdout.read()
    assert "ana@demo.example" in banner
    assert "demo-password" in banner

    second = _start(["demo", "--port", str(port)], env)
    try:
        _wait_healthy(second, port)
        assert _postmaster_and_redis(data_dir) == servers, "the orphans were reused, not duplicated"
        assert len(_embedded_pids(data_dir) & set(servers)) == 2

        sam = _login(port, "sam@demo.example", "demo-password")
        assert (sam["display_name"], sam["role"]) == ("Sam Rivera", "supervisor")
        zoe = _login(port, "zoe@example.com", "a long enough password")
        assert zoe["display_name"] == "Zoe Park", "data from before the kill is there"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert second.returncode == 0
    assert _wait_gone(set(servers)) == set(), "SIGTERM stops the embedded servers"


def test_user_add_then_login_on_serve_with_two_workers(data_dir: Path) -> None:
    env = _env(data_dir)
    added = _add_user(env, "Zoe@Example.com", "Zoe Park", "a long enough password")
    assert added.returncode == 0, added.stderr
    assert "added agent zoe@example.com" in added.stdout

    duplicate = _add_user(env, "zoe@example.com", "Zoe", "a long enough password")
    assert duplicate.returncode == 1
    assert "exists" in duplicate.stderr
    assert "Traceback" not in duplicate.stderr

    port = free_port()
    server = _start(["serve", "--port", str(port), "--workers", "2"], env)
    try:
        _wait_healthy(server, port)
        workers = [c for c in psutil.Process(server.pid).children()
                   if "spawn_main" in " ".join(c.cmdline())]
        assert len(workers) == 2
        for _ in range(6):  # connections spread over both workers; each must know the user
            assert _login(port, "zoe@example.com", "a long enough password")["role"] == "agent"
        # Both workers run the routing service; exactly one of them holds the lease.
        with redis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock")) as client:
            deadline = time.monotonic() + 10
            while (leader := client.get("cc:ws:1:routing:leader")) is None:
                assert time.monotonic() < deadline, "no routing leader"
                time.sleep(0.1)
        assert int(leader.decode().split(":")[1]) in {w.pid for w in workers}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert server.returncode == 0
    assert _wait_gone(_embedded_pids(data_dir)) == set()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_port_is_one_line_and_leaves_nothing_running(data_dir: Path, workers: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "contactcenter", "serve", "--port", str(port), "--workers", workers],
            env=_env(data_dir), capture_output=True, text=True, timeout=90)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "configuration error" in line]
    assert errors == [f"contactcenter: configuration error: --port: cannot listen on 127.0.0.1:{port}: "
                      "Address already in use"]
    assert "Traceback" not in proc.stderr
    assert "serving on" not in proc.stdout
    assert _wait_gone(_embedded_pids(data_dir)) == set()


def test_a_command_run_beside_the_demo_shares_its_servers(data_dir: Path) -> None:
    port = free_port()
    env = _env(data_dir)
    demo = _start(["demo", "--port", str(port)], env)
    try:
        _wait_healthy(demo, port)
        servers = _postmaster_and_redis(data_dir)
        added = _add_user(env, "late@example.com", "Late Joiner", "a long enough password")
        assert added.returncode == 0, added.stderr
        assert _embedded_pids(data_dir) >= set(servers), "user add must not stop the demo's servers"
        status, _ = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200
        assert _login(port, "late@example.com", "a long enough password")["display_name"] == (
            "Late Joiner")
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(30)
    assert _wait_gone(set(servers)) == set(), "the last user stops the servers"
