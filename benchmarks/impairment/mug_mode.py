"""`--mode mug`: the MUG server with `experiment` (built here) and two browser contexts per profile; its table.

The server process loads this file (`MUG_EXPERIMENT=.../mug_mode.py:experiment`), so importing it must stay cheap
and must work from the server's folder: the harness folder goes on `sys.path` first.
"""

from __future__ import annotations

import csv
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import FPS, PROFILES, Profile

from mug.testing import start_server

ENVS: dict[str, dict[str, Any]] = {
    # light: Catch for two, well under a millisecond per step and Surface draw list
    "catch": {
        "env": "mug.demos.catch_duo:make_env",
        "agents": {"left": "human", "right": "human"},
        "key_bindings": {"ArrowLeft": 0, "ArrowRight": 2},
        "default_action": 1,
    },
    # heavy: a 160x128 rgb_array gridworld drawn cell by cell, a few ms per step + render in Pyodide
    "grid": {
        "env": "mug.demos.grid_duo:make_env",
        "agents": {0: "human", 1: "human"},
        "key_bindings": {"ArrowUp": 1, "ArrowDown": 2, "ArrowLeft": 3, "ArrowRight": 4},
        "default_action": 0,
    },
}


def _experiment() -> Any:
    """The benchmark experiment, built from the environment the harness sets for the server process."""
    from mug.configurations import EndScene, Experiment, GameScene, Lobby, RemoteConfig

    secret = os.environ.get("IMPAIR_TURN_SECRET", "unset")
    port = os.environ.get("IMPAIR_PROXY_PORT", "3478")
    steps = int(os.environ.get("IMPAIR_MAX_STEPS", "600"))
    game: dict[str, Any] = ENVS[os.environ.get("IMPAIR_ENV", "catch")]
    scene = GameScene(
        id="duo",
        **game,
        fps=FPS,
        num_episodes=1,
        max_steps=steps,
        input_delay="auto",
        lobby=Lobby(timeout_s=120, on_timeout="end"),
    )
    remote = RemoteConfig().webrtc(
        turn_secret=secret, turn_urls=[f"turn:127.0.0.1:{port}"], stun_urls=[], force_relay=True, load_env_file=False
    )
    return Experiment(
        id="impairment", title="impairment", scenes=[scene, EndScene(id="end", completion_code="DONE")], remote=remote
    )


def __getattr__(name: str) -> Any:  # `experiment` is built when the server loads it (MUG_EXPERIMENT=...:experiment)
    if name == "experiment":
        return _experiment()
    raise AttributeError(name)


class MugServer:
    """`uvicorn mug.app:app` serving this file's experiment (`mug.testing.start_server`), log in work/server.log."""

    def __init__(
        self, work: Path, bundle: Path, proxy_port: int, secret: str, max_steps: int, env: str = "catch"
    ) -> None:
        self.log = work / "server.log"
        self._server = start_server(
            f"{Path(__file__).resolve()}:experiment",
            database_url=f"sqlite:///{work / 'data.sqlite3'}",
            bundle_dir=bundle,
            cwd=work,
            env={
                "IMPAIR_TURN_SECRET": secret,
                "IMPAIR_PROXY_PORT": str(proxy_port),
                "IMPAIR_MAX_STEPS": str(max_steps),
                "IMPAIR_ENV": env,
            },
            log=self.log,
            log_level="info",
        )
        self.url, self.db = self._server.url, self._server.database_url

    def stop(self) -> None:
        self._server.stop()


def chromium_cpu_s() -> float:
    """CPU seconds (user + system) used so far by every running Chromium process (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if name.startswith("chromium"):
            total += (int(rest[11]) + int(rest[12])) / tick  # utime, stime (fields 14 and 15)
    return total


def mug_profile(
    browser: Any, server: MugServer, profile: Profile, max_steps: int, rng: random.Random, log: list[str]
) -> dict[str, Any]:
    contexts = [browser.new_context() for _ in range(2)]
    result: dict[str, Any] = {"profile": profile.name, "pages": []}
    try:
        pages = [c.new_page() for c in contexts]
        for i, page in enumerate(pages):
            page.on("console", lambda m, i=i: log.append(f"[{profile.name} {i}] {m.type}: {m.text}"))
            page.on("pageerror", lambda e, i=i: log.append(f"[{profile.name} {i}] pageerror: {e}"))
            page.goto(server.url + f"/?PROLIFIC_PID=impair-{profile.name}-{i}")
        polls: list[list[dict[str, Any]]] = [[], []]
        last_match: list[dict[str, Any] | None] = [None, None]
        frames = [0, 0]
        done: set[int] = set()
        t0 = time.monotonic()
        playing_at: float | None = None
        cpu_at = 0.0
        deadline = t0 + 90 + max_steps / FPS * 3
        next_key = [0.0, 0.0]
        while time.monotonic() < deadline and len(done) < 2:
            for i, page in enumerate(pages):
                if i in done:
                    continue
                phase = page.evaluate("document.body.dataset.mugPhase")
                if phase in ("end", "error", "second_tab"):
                    done.add(i)
                    result.setdefault("phases", {})[i] = phase
                    continue
                button = page.query_selector("[data-testid=mug-continue]")
                if button is not None and button.is_visible() and button.is_enabled():
                    button.click()
                st = page.evaluate("window.mug ? window.mug.status() : null")
                if st and st.get("match"):
                    last_match[i] = st["match"]
                    frames[i] = max(frames[i], st.get("frame") or 0)
                    polls[i].append(
                        {
                            "t": round(time.monotonic() - t0, 2),
                            "phase": phase,
                            "frame": st.get("frame"),
                            "rtt": [p.get("rtt_ms") for p in st["match"].get("peers", [])],
                            "app_rtt": [p.get("lockstep_rtt_ms") for p in st["match"].get("peers", [])],
                            "delay": st["match"].get("input_delay"),
                            "stalls": st["match"].get("stalls"),
                            "state": st["match"].get("state"),
                        }
                    )
                if phase == "playing":
                    if playing_at is None:
                        playing_at, cpu_at = time.monotonic(), chromium_cpu_s()
                    if time.monotonic() >= next_key[i]:  # hold a random key (or none) for 0.2-1.0 s
                        for k in ("ArrowLeft", "ArrowRight"):
                            page.keyboard.up(k)
                        key = rng.choice(["ArrowLeft", "ArrowRight", None])
                        if key:
                            page.keyboard.down(key)
                        next_key[i] = time.monotonic() + rng.uniform(0.2, 1.0)
            time.sleep(0.1)
        result["to_playing_s"] = None if playing_at is None else round(playing_at - t0, 1)
        result["wall_s"] = round(time.monotonic() - t0, 1)
        if playing_at is not None:  # both pages' Chromium processes, from the first frame to both ends
            result["chromium_cpu_per_s"] = round((chromium_cpu_s() - cpu_at) / (time.monotonic() - playing_at), 3)
        result["pages"] = [{"match": last_match[i], "frames": frames[i], "polls": polls[i]} for i in range(2)]
        return result
    finally:
        for c in contexts:
            c.close()


def export(server: MugServer, out: Path) -> dict[str, list[dict[str, str]]]:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from mug.cli import main; sys.exit(main())",
            "export",
            "--database",
            server.db,
            "--out",
            str(out),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    tables = {}
    for name in ("matches", "match_links", "participants"):
        path = out / f"{name}.csv"
        if path.exists():
            with path.open(newline="") as f:
                tables[name] = list(csv.DictReader(f))
    return tables


def mug_rows(results: list[dict[str, Any]], links: list[dict[str, str]]) -> list[dict[str, Any]]:
    """One row per page; the server's export (the pages' own `summary` reports) wins over the last polled status."""
    by_key = {(row.get("match_id"), row.get("slot")): row for row in links}
    rows = []
    for r in results:
        p = PROFILES[r["profile"]]
        per_page = []
        for pg in r["pages"]:
            m = pg["match"] or {}
            playing = [poll for poll in pg["polls"] if poll["phase"] == "playing"]
            rtts = [x for poll in playing for x in poll["rtt"] if x is not None]
            app = [x for poll in playing for x in poll.get("app_rtt", []) if x is not None]
            link = by_key.get((m.get("id"), str(m.get("slot"))), {})

            def num(key: str, default: float, link: dict[str, str] = link) -> float:
                return float(link[key]) if link.get(key) not in (None, "") else default

            frames = int(num("frames", pg["frames"] or 0))
            delay = (
                m.get("input_delay")
                if m.get("input_delay") is not None
                else (int(num("input_delay", 0)) if link else None)
            )
            stalls = num("stalls", m.get("stalls") or 0)
            stall_ms = num("stall_ms", m.get("stall_ms") or 0.0)
            desyncs = link.get("desyncs") if link else None
            n_desync = len(json.loads(desyncs)) if desyncs else len(m.get("desyncs") or [])
            stall_per_input = (stall_ms / (1000 / FPS)) / frames if frames else None
            pacing = m.get("pacing") or {}
            per_page.append(
                {
                    "rtt": statistics.median(rtts) if rtts else None,
                    "app_rtt": statistics.median(app) if app else None,
                    "delay": delay,
                    "frames": frames,
                    "stalls": stalls,
                    "stalled": stalls / frames if frames else None,
                    "stall_per_input": stall_per_input,
                    "latency": None if delay is None or stall_per_input is None else delay * (1 + stall_per_input),
                    "desyncs": n_desync,
                    "state": m.get("state"),
                    "stall_ms": stall_ms,
                    "own_delay_max": pacing.get("max_delay"),
                    "paced": (pacing.get("paced_ms") or 0.0) / (frames * 1000 / FPS) if frames and pacing else None,
                    "from_export": bool(link),
                }
            )
        rows.append(
            {
                "profile": p,
                "pages": per_page,
                "to_playing_s": r.get("to_playing_s"),
                "phases": r.get("phases"),
                "proxy": r.get("proxy_summary"),
                "chromium_cpu_per_s": r.get("chromium_cpu_per_s"),
            }
        )
    return rows


def print_mug_table(rows: list[dict[str, Any]]) -> None:
    print("\nMUG 2-player catch_duo through coturn + proxy (relay forced, input_delay auto), one line per page (slot)")
    print(
        f"{'profile':<15}{'set rtt':>8}{'jit':>5}{'loss':>6}{'ICE rtt':>8}{'app rtt':>8}{'delay':>6}{'frames':>7}"
        f"{'stalls':>7}{'stalled %':>10}{'stall ms':>9}{'stall fr/in':>12}{'latency fr':>11}{'desyncs':>8}"
        f"{'own D max':>10}{'paced %':>8}{'to play s':>10}  state / end"
    )
    for r in rows:
        p = r["profile"]
        for i, pg in enumerate(r["pages"]):
            f = lambda x, d=1: "-" if x is None else f"{x:.{d}f}"  # noqa: E731
            name = p.name if i == 0 else ""
            set_cols = f"{p.rtt_ms:>8.0f}{p.jitter_ms:>5.0f}{100 * p.loss:>5.0f}%" if i == 0 else " " * 19
            print(
                f"{name:<15}{set_cols}{f(pg['rtt']):>8}{f(pg['app_rtt']):>8}{f(pg['delay'], 0):>6}{pg['frames']:>7}"
                f"{f(pg['stalls'], 0):>7}{f(None if pg['stalled'] is None else 100 * pg['stalled']):>10}"
                f"{f(pg['stall_ms'], 0):>9}{f(pg['stall_per_input'], 3):>12}{f(pg['latency'], 2):>11}"
                f"{pg['desyncs']:>8}{f(pg['own_delay_max'], 0):>10}"
                f"{f(None if pg['paced'] is None else 100 * pg['paced']):>8}"
                f"{f(r['to_playing_s'] if i == 0 else None):>10}  {pg['state']} / "
                f"{(r['phases'] or {}).get(i)}"
            )
        if r.get("chromium_cpu_per_s") is not None:
            print(
                f"{'':<15}Chromium CPU (both pages, every process): {r['chromium_cpu_per_s']:.2f} s per second of play"
            )
        px = r["proxy"]
        if px:
            print(
                f"{'':<15}proxy: up {px['up']['packets_in']} pkts, {px['up']['dropped']} dropped, mean delay "
                f"{px['up']['mean_delay_ms']} ms; down {px['down']['packets_in']} pkts, {px['down']['dropped']} "
                f"dropped, mean delay {px['down']['mean_delay_ms']} ms"
            )
