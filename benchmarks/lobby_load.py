"""Lobby and signaling load on ONE uvicorn process (the real server, real sockets, loopback only).

Run: `.venv/bin/python benchmarks/lobby_load.py` (defaults: stages 500,1000,2000,4000, raw clients, 180 s budget).
Options: `--stages 500,1000`, `--client raw|sio`, `--budget 180`, `--log-level info|warning`, `--profile`
(py-spy samples the server during the whole run and prints where its time goes), `--compare-clients 300`
(load-generator cost of python-socketio AsyncClient vs the raw Engine.IO client, per participant),
`--runs 5 --variants none,ws-uvicorn` (the stages five times for each server variant, in turn, then the median
and range of every figure), `--memory 5000` (only memory: where a held participant's server memory goes, see
`load/memory.py`; `--detail` prints it by type and allocation line; `--variants` compares, five runs by default),
`--servers 2 --runs 5 --join-window 20` (one throw-away PostgreSQL and Redis, `mug.testing.services`; each run
in turn: one process on PostgreSQL, one process on PostgreSQL with MUG_REDIS_URL, two processes sharing both,
participant i on process i mod 2; Redis's CPU per phase and RSS are printed beside the servers'; see
`cluster_runs`), `--join-window W` (at most W lobby_joins in flight: all N at once make Redis's optimistic
lobby transaction retry without end, see docs/performance.md).

What runs:

- the server: `create_app(experiment, settings)` under uvicorn with MUG's websocket protocol
  (`mug.server.websocket`, what `mug serve` and the README's command use) in its own process, pinned to core 0
  (`taskset -c 0`), on a free 127.0.0.1 port, a fresh SQLite database in a temporary folder. The experiment has
  one 2-player game scene (`mug.demos.catch_duo:make_env`, lobby timeout 1 h) and an end scene.
- the load generator: this process, pinned to core 1, asyncio. Each participant speaks Engine.IO 4 /
  Socket.IO 5 over one websocket (`--client raw`, see `RawClient`: the handshake, emit with ack, events and
  the pong, nothing else; permessage-deflate negotiated as browsers do) or is a python-socketio AsyncClient
  (`--client sio`, about 6x the client CPU per participant, so it saturates the load core first).

A stage of N participants runs phases separated by barriers, so each phase's rate is the server's throughput
for that operation with N requests outstanding ("burst" latencies are therefore mostly queueing: p99 is about
N / rate). Phases: connect (at most 200 handshakes in flight), hello, lobby_join until every match_start
arrived (pairs), signaling (per pair: offer and answer of ~3 KB SDP, 4 ICE candidates each way: 10 messages
relayed per pair), hold (everyone stays connected: server RSS is read from /proc/<pid>/status, and 20 probe
pairs run the whole flow one after another to measure latency with N participants connected but quiet),
disconnect (every disconnect ends a match: match end and outcome writes). Stages stop early when a phase has
errors above 1 %, a phase times out, or the remaining budget is short for the next stage.

Printed: per stage and phase, ops/s, server CPU per op, latency p50/p99 (burst), the server's and the load
generator's CPU use (a phase at ~100 % server CPU is server-bound); per stage the probe latencies and RSS per
held participant; the largest N held with no error.

Why "held" rather than "waiting in the lobby": a lobby never holds group_size participants (a group forms the
moment it is full), so at most 7 participants per multiplayer scene ever wait; what a server holds in numbers
is connected participants who said hello and sit in a match (or a scene). The pure lobby queue costs are in
`benchmarks/lobby_core.py`.

Layout: this file is the entry point (the stage loop, the flags, starting and stopping the server); the parts are
in `benchmarks/load/`: `server.py` (the server process this script re-runs as `lobby_load.py serve`, with the
`--what-if` patches), `clients.py` (Socket.IO clients), `participants.py` (one page's flow, fake SDP and
candidates), `stages.py` (phases, stages and their report), `diagnostics.py` (client cost, profile, log, store),
`proc.py` (/proc readings), `memory.py` (`--memory`), `summary.py` (`--runs`). The load generator raises its
open-file limit to the hard limit (the server inherits it): each held participant is a descriptor in both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from load.diagnostics import compare_clients, store_bench, summarize_log, summarize_profile
from load.memory import WARM_UP, measure
from load.memory import report as memory_report
from load.proc import rss_kb
from load.server import WHAT_IFS, healthz, serve
from load.stages import ERROR_LIMIT, Stage, report_stage
from load.summary import report_runs

from mug.testing import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]


async def run(
    args: argparse.Namespace,
    urls: list[str],
    pids: list[int],
    others: dict[str, int] | None = None,
    redis_port: int | None = None,
) -> list[Stage]:
    stages = [int(x) for x in args.stages.split(",")]
    done: list[Stage] = []
    t_start = time.perf_counter()
    if args.compare_clients:
        await compare_clients(urls[0], pids[0], args.compare_clients)
    await asyncio.sleep(1)
    rss_idle = [rss_kb(pid) for pid in pids]
    print(
        f"\nserver pid {', '.join(map(str, pids))}, RSS at idle "
        f"{', '.join(f'{r / 1024:.1f}' for r in rss_idle)} MB; budget {args.budget:.0f} s"
    )
    best = 0
    last_time = last_n = 0.0
    for seed, n in enumerate(stages):
        remaining = args.budget - (time.perf_counter() - t_start)
        estimate = last_time * n / last_n if last_n else 0.0
        if estimate > remaining:
            print(f"\nstopping before N = {n}: the previous stage scaled says {estimate:.0f} s, {remaining:.0f} s left")
            break
        t0 = time.perf_counter()
        stage = Stage(n, urls, pids, args.client, seed, others, args.join_window, redis_port)
        ok = await stage.run(rss_idle)
        report_stage(stage)
        done.append(stage)
        last_time, last_n = time.perf_counter() - t0, n
        clean = ok and not stage.stats.errors
        if clean:
            best = n
        # let the server settle: every connection gone
        for _ in range(100):
            try:
                loop = asyncio.get_running_loop()
                if all([(await loop.run_in_executor(None, healthz, u))["connected"] == 0 for u in urls]):
                    break
            except OSError:  # still busy with N disconnects (each ends a match in the database)
                pass
            await asyncio.sleep(0.2)
        if not ok:
            print(f"\nstopping: stage N = {n} failed (errors above {ERROR_LIMIT:.0%} or timeouts)")
            break
    print(
        f"\nmax concurrent participants held with no error: {best or 'none'}  "
        f"(total {time.perf_counter() - t_start:.0f} s; server RSS now "
        f"{', '.join(f'{rss_kb(pid) / 1024:.1f}' for pid in pids)} MB)"
    )
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd")
    s = sub.add_parser("serve", help="internal: the server process")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--db", required=True)
    s.add_argument("--group", type=int, default=2)
    s.add_argument("--log-level", default="info")
    s.add_argument("--what-if", action="append", default=[])
    s.add_argument("--snapshots", help="folder for the SIGUSR1 memory snapshots (see load/memory.py)")
    s.add_argument("--redis", help="MUG_REDIS_URL (--servers)")
    parser.add_argument("--stages", default="500,1000,2000,4000")
    parser.add_argument("--client", choices=["raw", "sio"], default="raw")
    parser.add_argument("--budget", type=float, default=180.0, help="seconds for the stages (stops early)")
    parser.add_argument("--log-level", default="info", help="server log level (info is the deployment default)")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server log, profile)")
    parser.add_argument("--compare-clients", type=int, default=0, metavar="N")
    parser.add_argument(
        "--what-if",
        action="append",
        default=[],
        choices=WHAT_IFS,
        help="patch the server process from outside to measure a proposed change (repeatable)",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=0,
        metavar="N",
        help="only measure memory per held participant (see load/memory.py), N participants a step",
    )
    parser.add_argument(
        "--servers",
        type=int,
        default=0,
        metavar="2",
        help="PostgreSQL + Redis: 1 process on PostgreSQL, 1 with Redis, and this many with Redis, side by side",
    )
    parser.add_argument(
        "--join-window",
        type=int,
        default=0,
        metavar="W",
        help="at most W lobby_joins in flight (default: all N at once); a join holds its place until match_start",
    )
    parser.add_argument("--runs", type=int, help="runs of each variant (default: 5 with --memory, else 1)")
    parser.add_argument(
        "--variants",
        default="none",
        help="comma-separated server variants, each 'none' or what-if names joined by '+', run in turn; with "
        "--memory the first is the base of the ratios",
    )
    parser.add_argument("--detail", action="store_true", help="--memory: where the bytes go (first run of each)")
    parser.add_argument(
        "--store-bench",
        type=int,
        default=0,
        metavar="N",
        help="only measure the store's share of hello (N participants, in this process)",
    )
    args = parser.parse_args()
    if args.runs is None:
        args.runs = 5 if args.memory else 1
    if args.store_bench:
        asyncio.run(store_bench(args.store_bench))
        return
    if args.cmd == "serve":
        serve(args.port, args.db, args.group, args.log_level, args.what_if, args.snapshots, args.redis)
        return

    _raise_open_files()
    cores = sorted(os.sched_getaffinity(0))
    server_core, load_core = (cores[0], cores[1]) if len(cores) > 1 else (cores[0], cores[0])
    os.sched_setaffinity(0, {load_core})
    if args.memory:
        asyncio.run(memory_runs(args, server_core, load_core))
        return
    if args.servers:
        cluster_runs(args, cores)
        return
    if args.runs > 1 or args.variants != "none":
        stage_runs(args, server_core, load_core)
        return
    tmp = Path(tempfile.mkdtemp(prefix="mug-lobby-load-"))
    server, url, log = start_server(args, tmp, server_core, args.what_if)
    spy: subprocess.Popen[bytes] | None = None
    raw = tmp / "profile.txt"
    try:
        print(
            f"server: core {server_core}, {url}, log level {args.log_level}, log {tmp / 'server.log'}; "
            f"load generator: core {load_core}, {args.client} clients; what-if: {args.what_if or 'none'}"
        )
        if args.profile:
            py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            spy = subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "250",
                    "--threads",
                    "--idle",
                    "--nonblocking",
                    "-o",
                    str(raw),
                    "--duration",
                    str(int(args.budget) + 60),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        asyncio.run(asyncio.wait_for(run(args, [url], [server.pid]), args.budget + 120))
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(20)
            if spy.poll() is None:
                spy.kill()
        stop_server(server, log)
    if args.profile:
        summarize_profile(raw)
    summarize_log(tmp / "server.log")
    if args.keep:
        print(f"kept: {tmp} (server.log, profile.txt)")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def _raise_open_files() -> None:
    """Every held participant is a file descriptor in the server and one here: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_server(
    args: argparse.Namespace,
    tmp: Path,
    core: int,
    what_if: list[str],
    snapshots: Path | None = None,
    db: str | None = None,
    redis: str | None = None,
    name: str = "server",
) -> tuple[subprocess.Popen[bytes], str, IO[str]]:
    """The server process (`lobby_load.py serve`), pinned to `core`, once it answers /healthz.

    `db`: a database URL (default: a fresh SQLite file in `tmp`); `redis`: MUG_REDIS_URL; `name`: of its log.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "serve",
        "--port",
        str(port),
        "--db",
        db or str(tmp / "data.sqlite3"),
        *(["--redis", redis] if redis else []),
        "--log-level",
        args.log_level,
        *(f"--what-if={w}" for w in what_if),
        *(["--snapshots", str(snapshots)] if snapshots else []),
    ]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(core), *cmd]
    log = (tmp / f"{name}.log").open("w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    # not mug.testing.start_server: this server is its own entry point (what-if patches), pinned to a core

    def ready() -> bool:
        if server.poll() is not None:
            raise SystemExit(f"server exited; log: {tmp / f'{name}.log'}")
        try:
            return bool(healthz(url))
        except OSError:
            return False

    try:
        wait_until(ready, 30, interval=0.1, what="the server answers /healthz")
    except TimeoutError:
        stop_server(server, log)
        raise SystemExit(f"server did not start; log: {tmp / f'{name}.log'}") from None
    return server, url, log


def stop_server(server: subprocess.Popen[bytes], log: IO[str]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def stage_runs(args: argparse.Namespace, server_core: int, load_core: int) -> None:
    """`--runs K` / `--variants ...` without `--memory`: the stages K times per variant, interleaved, summed up."""
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    results: dict[str, list[list[Stage]]] = {v: [] for v in variants}
    loads: list[float] = []
    for run_no in range(args.runs):
        for variant in variants:
            what_if = [*args.what_if, *([] if variant == "none" else variant.split("+"))]
            tmp = Path(tempfile.mkdtemp(prefix="mug-lobby-load-"))
            server, url, log = start_server(args, tmp, server_core, what_if)
            loads.append(os.getloadavg()[0])
            print(f"\n#### run {run_no + 1}/{args.runs}, {variant} (server core {server_core}, load {load_core})")
            try:
                stages = asyncio.run(asyncio.wait_for(run(args, [url], [server.pid]), args.budget + 120))
            finally:
                stop_server(server, log)
            summarize_log(tmp / "server.log")
            shutil.rmtree(tmp, ignore_errors=True)
            results[variant].append(stages)
    report_runs(results, loads)


CLUSTER_VARIANTS = ("1 process, PostgreSQL", "1 process, PostgreSQL + Redis", "{k} processes, PostgreSQL + Redis")


def cluster_runs(args: argparse.Namespace, cores: list[int]) -> None:
    """`--servers K`: one PostgreSQL and one Redis for the whole invocation; per run, in turn, one process on
    PostgreSQL alone, one with Redis, K with Redis (each a fresh database, Redis emptied): the ratios side by side.

    The one-process variants are pinned as the one-process mode pins (server core 0, this process core 1); the K
    processes get a core each (process k core k mod cores) and this process, Redis and PostgreSQL float: with
    2 cores, K = 2 leaves no core of its own to anyone, which the figures must be read with.
    """
    from load.cluster import flush_redis

    from mug.testing.services import PostgresServer, RedisServer

    k = args.servers
    variants = [v.format(k=k) for v in CLUSTER_VARIANTS]
    results: dict[str, list[list[Stage]]] = {v: [] for v in variants}
    loads: list[float] = []
    load_core = cores[1] if len(cores) > 1 else cores[0]
    with PostgresServer() as pg, RedisServer() as redis:
        assert redis._proc is not None
        others = {"redis": redis._proc.pid}
        print(f"PostgreSQL {pg.url}, Redis {redis.url} (pid {redis._proc.pid}); uptime: {uptime()}")
        for run_no in range(args.runs):
            for variant in variants:
                flush_redis(redis.port)
                db = pg.new_database()
                procs = k if variant.startswith(f"{k} ") else 1
                use_redis = redis.url if "Redis" in variant else None
                tmp = Path(tempfile.mkdtemp(prefix="mug-lobby-load-"))
                servers = []
                try:
                    for i in range(procs):
                        servers.append(
                            start_server(args, tmp, cores[i % len(cores)], args.what_if, None, db, use_redis, f"s{i}")
                        )
                    if procs > 1:
                        os.sched_setaffinity(0, set(cores))
                    else:
                        os.sched_setaffinity(0, {load_core})
                    loads.append(os.getloadavg()[0])
                    print(f"\n#### run {run_no + 1}/{args.runs}, {variant}; uptime: {uptime()}")
                    stages = asyncio.run(
                        asyncio.wait_for(
                            run(args, [u for _, u, _ in servers], [s.pid for s, _, _ in servers], others, redis.port),
                            args.budget + 120,
                        )
                    )
                finally:
                    for server, _, log in servers:
                        stop_server(server, log)
                for i in range(procs):
                    summarize_log(tmp / f"s{i}.log")
                shutil.rmtree(tmp, ignore_errors=True)
                results[variant].append(stages)
        print(f"\nuptime at the end: {uptime()}")
    report_runs(results, loads)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


async def memory_runs(args: argparse.Namespace, server_core: int, load_core: int) -> None:
    """`--memory N`: each variant's cost per held participant, variants interleaved run by run."""
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    print(
        f"memory per held participant: {WARM_UP} + {args.memory} + {args.memory} held, the last {args.memory} "
        f"counted; {args.runs} runs of variants {variants} (what-if patches joined by '+'); server core "
        f"{server_core}, load core {load_core}; load average at start {os.getloadavg()[0]:.2f}"
    )
    loads: list[float] = []
    for run_no in range(args.runs):
        for variant in variants:
            what_if = [] if variant == "none" else variant.split("+")
            tmp = Path(tempfile.mkdtemp(prefix="mug-lobby-mem-"))
            snaps = tmp / "snaps"
            snaps.mkdir()
            server, url, log = start_server(args, tmp, server_core, what_if, snaps)
            try:
                loads.append(os.getloadavg()[0])
                print(f"run {run_no + 1}/{args.runs}, {variant}: ", end="", file=sys.stderr, flush=True)
                per = await asyncio.wait_for(measure(url, server.pid, args.client, args.memory, snaps), 1800)
            finally:
                stop_server(server, log)
                shutil.rmtree(tmp, ignore_errors=True)
            results[variant].append(per)
            if run_no == 0 and args.detail:
                memory_report(f"{variant} (run 1)", per)
    print(f"\nload average (1 min) during the runs: {min(loads):.2f} to {max(loads):.2f} (2 cores; the server had one)")
    print(
        f"\n{'variant':<32}{'KB/participant at the margin: median':>38}{'range':>16}{'ratio':>7}"
        f"{'average from idle: median':>27}{'range':>16}{'runs':>5}{'errors':>7}"
    )
    base = statistics.median(r["rss_b"] for r in results[variants[0]])
    for v in variants:
        rss = [r["rss_b"] / 1024 for r in results[v]]
        avg = [r["average_kb"] for r in results[v]]
        med = statistics.median(rss)
        errors = sum(sum(r["errors"].values()) for r in results[v])
        print(
            f"{v:<32}{med:>38.1f}{f'{min(rss):.1f} - {max(rss):.1f}':>16}{med * 1024 / base:>7.2f}"
            f"{statistics.median(avg):>27.1f}{f'{min(avg):.1f} - {max(avg):.1f}':>16}{len(rss):>5}{errors:>7}"
        )


if __name__ == "__main__":
    main()
