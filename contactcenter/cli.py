"""The `contactcenter` command. Configuration problems exit with code 2 and one line that names
the key and what is wrong; they never show a traceback."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from contactcenter import logs
from contactcenter.actions import add_user
from contactcenter.actions.users import ROLES, NewUser, check_new_user
from contactcenter.demo import demo_banner, demo_settings, seed_demo
from contactcenter.errors import InputError
from contactcenter.numbers import whole_number
from contactcenter.server import (
    Endpoints,
    connect_core,
    prepare_database,
    serve,
    with_endpoints,
)
from contactcenter.settings import ConfigError, Settings, load_settings
from contactcenter.store.migrate import MigrationError

EXIT_CONFIG = 2

Command = Callable[[Settings, argparse.Namespace], int]


def _port(text: str) -> int:
    port = whole_number(text, max_digits=5)
    if port is None or not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return port


def _workers(text: str) -> int:
    workers = whole_number(text, max_digits=2)
    if workers is None or not 1 <= workers <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of workers from 1 to 64")
    return workers


def _skill(text: str) -> tuple[str, int]:
    name, _, level_text = text.partition("=")
    level = whole_number(level_text, max_digits=2)
    if not name or level is None or not 1 <= level <= 10:
        raise argparse.ArgumentTypeError(f"{text!r}: write a skill as NAME=LEVEL, level 1-10")
    return name, level


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    def announce(base_url: str) -> None:
        print(f"contactcenter: serving on {base_url} (health: {base_url}/healthz)", flush=True)

    return with_endpoints(settings, lambda ep: serve(
        settings, ep, args.host, args.port, args.workers, announce))


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    settings = demo_settings(settings, f"http://{host}:{args.port}")

    async def seed(ep: Endpoints, workspace_id: int) -> None:
        await seed_demo(settings, ep.database_url, ep.redis_url, workspace_id)

    def announce(base_url: str) -> None:
        print(demo_banner(base_url), flush=True)

    return with_endpoints(settings, lambda ep: serve(
        settings, ep, args.host, args.port, 1, announce, seed=seed))


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    def run(ep: Endpoints) -> int:
        asyncio.run(prepare_database(settings, ep.database_url))
        print("contactcenter: the database is up to date", flush=True)
        return 0

    return with_endpoints(settings, run)


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.email}: ")
    else:
        print("contactcenter: give the password with --password-stdin", file=sys.stderr)
        return EXIT_CONFIG
    # Checked before any server starts, so a typo costs nothing.
    user = check_new_user(NewUser(args.email, args.name, args.role, password, dict(args.skill)))

    async def run(ep: Endpoints) -> int:
        workspace_id = await prepare_database(settings, ep.database_url)
        async with connect_core(settings, ep) as core:
            user_id = await add_user(core, workspace_id, user)
        print(f"contactcenter: added {user.role} {user.email} (id {user_id})", flush=True)
        return 0

    return with_endpoints(settings, lambda ep: asyncio.run(run(ep)))


def _count(text: str) -> int:
    count = whole_number(text)
    if count is None or count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number, at least 1")
    return count


# A what-if larger than this is a typo more often than a question (the engine routes about
# 30,000 customers a second here, so this is ten minutes or so).
MAX_SIMULATED_ARRIVALS = 20_000_000


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1e-6 <= value < math.inf:  # below, rates and times turn into overflows
        raise argparse.ArgumentTypeError(f"{text!r} must be a number from 0.000001 up")
    return value


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from contactcenter.progress import progress_bar
    from contactcenter.simulation import format_report, scenario_from_file, theory
    from routing.erlang import MAX_ERLANG_A_STATES
    from routing.simulate import run, single_queue_scenario

    predicted = None
    if args.scenario is not None:
        scenario = scenario_from_file(args.scenario, settings.file)
    else:
        missing = [flag for flag, value in (("--agents", args.agents),
                                            ("--arrival-rate", args.arrival_rate),
                                            ("--aht", args.aht)) if value is None]
        if missing:
            raise ConfigError(missing[0], "required unless --scenario FILE is given")
        scenario = single_queue_scenario(
            args.agents, args.arrival_rate, args.aht, args.threshold, args.duration,
            patience=args.patience, seed=args.seed, warmup=args.warmup,
            handle_time=args.handle_time)
        if args.handle_time == "exponential":
            predicted = theory(args.agents, args.arrival_rate, args.aht, args.threshold,
                               args.patience)
            if predicted is None:
                print("contactcenter simulate: no Erlang A figures: with this overload and "
                      f"patience more than {MAX_ERLANG_A_STATES:,} customers would be present "
                      "at once", file=sys.stderr)
    if (expected := scenario.expected_arrivals) > MAX_SIMULATED_ARRIVALS:
        raise ConfigError("--scenario" if args.scenario else "--arrival-rate",
                          (f"about {expected:,.0f}" if expected < 1e15 else f"{expected:.2g}")
                          + " arrivals to simulate, more "
                          f"than {MAX_SIMULATED_ARRIVALS:,} (ten minutes or so): shorten the "
                          "duration or lower the rate")
    result = run(scenario, progress=None if args.json else progress_bar("simulating"))
    if args.json:
        if predicted is not None:
            result["theory"] = predicted
        print(json.dumps(result, indent=2))
    else:
        print(format_report(result, predicted))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contactcenter",
        description="Omnichannel contact-center server. Configuration: CC_CONFIG and the "
                    "environment (see the README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_listen_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
        p.add_argument("--port", type=_port, default=8080, help="port to listen on (8080)")

    serve = sub.add_parser("serve", help="run the server")
    add_listen_flags(serve)
    serve.add_argument("--workers", type=_workers, default=1,
                       help="processes sharing the port with SO_REUSEPORT (1)")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="run the server with a demo workspace and logins")
    add_listen_flags(demo)
    demo.set_defaults(func=cmd_demo)

    migrate = sub.add_parser("migrate", help="apply database migrations and exit")
    migrate.set_defaults(func=cmd_migrate)

    sim = sub.add_parser(
        "simulate", help="what-if: run the routing engine on a virtual clock",
        description="Simulate a queue (from the flags) or several (--scenario FILE, with the "
                    "workspace's queues) with the real routing engine on a virtual clock.")
    sim.add_argument("--agents", type=_count, help="agents on the single queue")
    sim.add_argument("--arrival-rate", type=_positive, metavar="PER_SECOND",
                     help="customers arriving per second")
    sim.add_argument("--aht", type=_positive, metavar="SECONDS", help="average handle time")
    sim.add_argument("--patience", type=_positive, metavar="SECONDS",
                     help="mean patience before a waiting customer gives up (default: never)")
    sim.add_argument("--threshold", type=_positive, default=20.0, metavar="SECONDS",
                     help="service-level threshold (20)")
    sim.add_argument("--duration", type=_positive, default=28_800.0, metavar="SECONDS",
                     help="simulated time after the warm-up (28800, one 8-hour day)")
    sim.add_argument("--warmup", type=float, metavar="SECONDS",
                     help="simulated time before measuring (a tenth of the duration)")
    sim.add_argument("--handle-time", choices=("exponential", "lognormal"),
                     default="exponential", help="handle-time distribution")
    sim.add_argument("--seed", type=int, default=1, help="random seed (1): same seed, same result")
    sim.add_argument("--scenario", type=Path, metavar="FILE",
                     help="TOML file with [[agents]] and [[arrivals]] for several queues")
    sim.add_argument("--json", action="store_true", help="print the figures as JSON")
    sim.set_defaults(func=cmd_simulate)

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_sub.add_parser("add", help="add an agent, supervisor or admin")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--skill", type=_skill, action="append", default=[], metavar="NAME=LEVEL",
                     help="a skill and its level 1-10; repeat for several")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.set_defaults(func=cmd_user_add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure()
    try:
        settings = load_settings()
        command: Command = args.func
        return command(settings, args)
    except ConfigError as exc:
        print(f"contactcenter: configuration error: {exc.key}: {exc.problem}", file=sys.stderr)
        return EXIT_CONFIG
    except (InputError, MigrationError) as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
