"""A multiplayer browser scenario as a program: a server, N headless Chromium participants, one result file.

Run as a subprocess by `test_e2e_multiplayer.py`, inside a private network namespace (`netns-run`) for direct
peer-to-peer links, or in the normal namespace with a TURN relay. Usage:

    python mp_scenario.py --experiment FILE:NAME --players N --bundle DIR --work DIR
        [--close-slot K --close-at-frame F] [--block-slot K --block-at-s S --block-ms MS --quiet-s Q]
        [--kill-at-frame F --down-s S] [--reload-slot K --reload-at-frame F]
        [--drop-slot K --drop-at-frame F --drop-s S] [--blackhole-at-frame F --blackhole-s S] [--servers N]
        [--idle-slot K]

Writes `DIR/result.json`: per participant its final status, phase, completion code and when it got there;
`close_to_end_s`: for `--close-slot`, seconds from closing that tab to each other page's end scene;
`block`: for `--block-slot`, the browser wall clock (ms) when that page's main thread was blocked and freed;
and `DIR/export/` (the `mug export` tables).

`--block-slot K`: the participant in slot K holds ArrowRight from the start, and `--block-at-s` seconds after
everyone plays its page's main thread is kept busy for `--block-ms` (its data channels deliver and send
nothing meanwhile, its worker runs on); the others press nothing for the first `--quiet-s` seconds. A
turn-based game whose turn is someone else's keeps going meanwhile; a simultaneous game stalls.

`--kill-at-frame F`: once a page reaches frame F the server is killed (SIGKILL, no shutdown at all; or
stopped with SIGTERM given `--stop-with sigterm`) and
started again `--down-s` seconds later on the same database and port; the pages play on meanwhile.
`result["kill"]`: the frame and the times of the kill and the restart.

`--reload-slot K`: once that participant's page reaches frame F it is reloaded; `result["reload"]`: the
frame, and seconds from the reload to the page playing the match again (`resumed_s`).

`--drop-slot K`: once that page reaches frame F its data channels are closed and no page can make a new
WebRTC connection for `--drop-s` seconds (a network drop); `result["drop"]`: the frame and when play went on.

`--blackhole-at-frame F` (inside netns-run only): once a page reaches frame F, every packet to the pages'
address (10.77.0.1, the peer-to-peer traffic; the server is on 127.0.0.1) is dropped for `--blackhole-s`
seconds with a blackhole routing rule: to the browsers the network is gone, their data channels stay open and ICE
goes "disconnected"; `result["blackhole"]`: the frame.

`--servers N` (N >= 2): N server processes serve the experiment, sharing a redis-server and a PostgreSQL
database that the scenario starts itself (inside the scenario's network namespace, where the servers are);
participant i opens process i mod N. `result["servers"]`: their URLs.

`--idle-slot K`: the participant in slot K presses nothing at all (for a scene with `inactivity_s`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mug.testing import RunningServer, start_server
from mug.testing.chromium import CHROMIUM as CHROMIUM_PATH
from mug.testing.chromium import WEBRTC_ARGS

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import ConsoleMessage, Error

ARGS = WEBRTC_ARGS
CHROMIUM = str(CHROMIUM_PATH)
KEYS = ["ArrowLeft", "ArrowRight", None]
# Keeps the page's main thread busy for `ms`; returns the browser's wall clock before and after.
BUSY_JS = "ms => { const t0 = Date.now(); while (Date.now() - t0 < ms) {} return [t0, Date.now()]; }"


# Every page: keep each RTCPeerConnection and data channel made, and let the test refuse new connections for a
# while (window.__mugBlockUntil, a Date.now() value): a dropped network, as far as WebRTC can tell.
WEBRTC_SPY_JS = """(() => {
  const Orig = window.RTCPeerConnection;
  if (!Orig) return;
  window.__mugChannels = [];
  window.__mugBlockUntil = 0;
  const Spy = function (...args) {
    if (Date.now() < window.__mugBlockUntil) throw new Error("no network (blocked by the test)");
    const pc = new Orig(...args);
    const make = pc.createDataChannel.bind(pc);
    pc.createDataChannel = (...a) => { const ch = make(...a); window.__mugChannels.push(ch); return ch; };
    return pc;
  };
  Spy.prototype = Orig.prototype;
  window.RTCPeerConnection = Spy;
})();"""
# (this kernel has no tc classifiers: a routing rule ahead of the local table refuses sends to the address)
BLACKHOLE_ON = (
    "ip rule add pref 10 to 10.77.0.1 blackhole",
    "ip rule add pref 20 lookup local",
    "ip rule del pref 0",
)
BLACKHOLE_OFF = "ip rule del pref 10"
DROP_JS = """ms => {
  window.__mugBlockUntil = Date.now() + ms;
  for (const ch of window.__mugChannels) ch.close();
  return Date.now();
}"""


def status(page: Any) -> dict[str, Any] | None:
    """The page's `window.mug.status()`, or None while it has none (loading, or being reloaded)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return page.evaluate("window.mug ? window.mug.status() : null")  # type: ignore[no-any-return]
    except PlaywrightError:  # the page is navigating (a reload): its old document is gone
        return None


def console_logger(log: list[str], i: int) -> Callable[[ConsoleMessage], None]:
    """A page's console messages into `log`, tagged with the page's index."""
    return lambda m: log.append(f"[{i}] {m.type}: {m.text}")


def error_logger(log: list[str], i: int) -> Callable[[Error], None]:
    """A page's uncaught errors into `log`, tagged with the page's index."""
    return lambda e: log.append(f"[{i}] pageerror: {e}")


def run(args: argparse.Namespace, result: dict[str, Any]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    services: list[Any] = []
    database_url = f"sqlite:///{work / 'data.sqlite3'}"
    env: dict[str, str] = {}
    if args.servers > 1:
        from mug.testing.services import PostgresServer, RedisServer

        redis, postgres = RedisServer().start(), PostgresServer().start()
        services += [redis, postgres]
        database_url, env = postgres.new_database(), {"MUG_REDIS_URL": redis.url}

    def serve(port: int | None = None, i: int = 0) -> RunningServer:
        return start_server(
            args.experiment,
            database_url=database_url,
            bundle_dir=Path(args.bundle),
            cwd=work,
            env=env,
            log=work / ("server.log" if i == 0 else f"server{i}.log"),
            log_level="info",
            port=port,
        )

    try:
        servers = [serve(i=i) for i in range(args.servers)]
    except BaseException:
        for service in services:
            service.stop()
        raise
    server = servers[0]
    urls = [s.url for s in servers]
    result["servers"] = urls
    db = server.database_url
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            contexts = [browser.new_context() for _ in range(args.players)]
            pages = [c.new_page() for c in contexts]
            log: list[str] = result["log"]
            for i, page in enumerate(pages):
                page.add_init_script(WEBRTC_SPY_JS)
                page.on("console", console_logger(log, i))
                page.on("pageerror", error_logger(log, i))
                page.goto(urls[i % len(urls)] + f"/?PROLIFIC_PID=mp-{i}")
            t0 = time.monotonic()
            for page in pages:
                page.wait_for_function(
                    "['playing', 'end', 'error'].includes(document.body.dataset.mugPhase)", timeout=90_000
                )
            result["all_playing_s"] = round(time.monotonic() - t0, 2)
            t_play = time.monotonic()
            statuses = [status(pg) or {} for pg in pages]
            slots = {st["match"]["slot"]: i for i, st in enumerate(statuses) if st.get("match")}
            blocker = slots.get(args.block_slot) if args.block_slot is not None else None
            idler = slots.get(args.idle_slot) if args.idle_slot is not None else None
            if blocker is not None:
                pages[blocker].keyboard.down("ArrowRight")
            closed: int | None = None
            t_close = 0.0
            t_kill: float | None = None
            tick = 0
            ended: dict[int, float] = {}
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                tick += 1
                for i, page in enumerate(pages):
                    if i == closed or i in ended:
                        continue
                    st_now = status(page)
                    phase = st_now["phase"] if st_now else None
                    if phase in ("end", "error"):
                        ended[i] = time.monotonic()
                        continue
                    if i == blocker and "block" not in result and time.monotonic() - t_play >= args.block_at_s:
                        t_busy, t_free = page.evaluate(BUSY_JS, args.block_ms)
                        result["block"] = {"slot": args.block_slot, "index": i, "t0_ms": t_busy, "t1_ms": t_free}
                    if blocker is not None and time.monotonic() - t_play < args.quiet_s:
                        continue  # the quiet start: nobody changes keys (the blocked slot holds ArrowRight)
                    if i == idler:
                        continue  # this participant presses nothing (GameScene.inactivity_s)
                    if tick % 5 == i % 5:  # change keys now and then, differently per participant
                        key = KEYS[(tick // 5 + i) % len(KEYS)]
                        for k in ("ArrowLeft", "ArrowRight"):
                            page.keyboard.up(k)
                        if key:
                            page.keyboard.down(key)
                if args.reload_slot is not None and slots.get(args.reload_slot) is not None:
                    victim = slots[args.reload_slot]
                    st = status(pages[victim]) if victim not in ended else None
                    if "reload" not in result and st and (st["frame"] or 0) >= args.reload_at_frame:
                        result["reload"] = {"frame": st["frame"], "t": time.monotonic(), "wall": time.time()}
                        pages[victim].reload()
                    elif "reload" in result and "resumed_s" not in result["reload"] and st and st["match"]:
                        if st["match"]["rejoin"] and st["match"]["resumed_at"]:  # the page's own clock
                            resumed = st["match"]["resumed_at"] / 1000 - result["reload"]["wall"]
                            result["reload"]["resumed_s"] = round(resumed, 2)
                if args.drop_slot is not None and slots.get(args.drop_slot) is not None and "drop" not in result:
                    victim = slots[args.drop_slot]
                    st = status(pages[victim])
                    if st and (st["frame"] or 0) >= args.drop_at_frame:
                        for other in pages:
                            other.evaluate("ms => { window.__mugBlockUntil = Date.now() + ms; }", args.drop_s * 1000)
                        pages[victim].evaluate(DROP_JS, args.drop_s * 1000)
                        result["drop"] = {"frame": st["frame"], "t": time.monotonic()}
                if args.blackhole_at_frame is not None and "blackhole" not in result:
                    frame = max(((status(pg) or {}).get("frame") or 0) for pg in pages)
                    if frame >= args.blackhole_at_frame:
                        for cmd in BLACKHOLE_ON:
                            subprocess.run(cmd.split(), check=True)
                        result["blackhole"] = {"frame": frame, "t": time.monotonic()}
                elif "blackhole" in result and "lifted" not in result["blackhole"]:
                    if time.monotonic() - result["blackhole"]["t"] >= args.blackhole_s:
                        subprocess.run(BLACKHOLE_OFF.split(), check=True)
                        result["blackhole"]["lifted"] = True
                if args.close_slot is not None and closed is None:
                    shut = slots.get(args.close_slot)
                    frame_now = ((status(pages[shut]) or {}).get("frame") or 0) if shut is not None else 0
                    if shut is not None and frame_now >= args.close_at_frame:
                        victim = shut
                        result["closed_at_frame"] = frame_now
                        pages[victim].close()
                        closed, t_close = victim, time.monotonic()
                if args.kill_at_frame is not None and "kill" not in result:
                    frame = max((status(pg) or {}).get("frame") or 0 for pg in pages)
                    if frame >= args.kill_at_frame:
                        if args.stop_with == "sigterm":
                            server.stop()  # a graceful shutdown (a deploy): SIGTERM, uvicorn's own exit
                        else:
                            server.kill()
                        t_kill = time.monotonic()
                        result["kill"] = {"frame": frame}
                if (
                    t_kill is not None
                    and "restarted_s" not in result["kill"]
                    and time.monotonic() - t_kill >= args.down_s
                ):
                    server = serve(port=server.port)
                    result["kill"]["restarted_s"] = round(time.monotonic() - t_kill, 2)
                if len(ended) + (closed is not None) >= len(pages):
                    break
                time.sleep(0.1)
            for i, page in enumerate(pages):
                entry: dict[str, Any] = {"index": i, "closed": i == closed}
                if i != closed:
                    st = status(page)
                    code = page.query_selector("[data-testid=mug-completion-code]")
                    entry.update(
                        status=st,
                        phase=st["phase"] if st else None,
                        code=(code.text_content() or "").strip() if code else None,
                        text=(page.text_content("#mug-root") or "")[:500],
                    )
                    if i in ended and closed is not None:
                        entry["close_to_end_s"] = round(ended[i] - t_close, 2)
                result["players"].append(entry)
            browser.close()
    finally:
        server.stop()
        for extra in servers[1:]:
            extra.stop()
    try:
        export(db, work / "export")
    finally:
        for service in services:
            service.stop()
    return result


def export(database_url: str, out: Path) -> None:
    """`mug export` of the scenario's database, as a researcher runs it."""
    cli = "import sys; from mug.cli import main; sys.exit(main())"
    subprocess.run([sys.executable, "-c", cli, "export", "--database", database_url, "--out", str(out)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--players", type=int, default=2)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--close-slot", type=int, default=None)
    parser.add_argument("--close-at-frame", type=int, default=60)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--block-slot", type=int, default=None)
    parser.add_argument("--block-at-s", type=float, default=0.5)
    parser.add_argument("--block-ms", type=int, default=1500)
    parser.add_argument("--quiet-s", type=float, default=3.0)
    parser.add_argument("--kill-at-frame", type=int, default=None)
    parser.add_argument("--down-s", type=float, default=4.0)
    parser.add_argument("--stop-with", choices=["sigkill", "sigterm"], default="sigkill")
    parser.add_argument("--reload-slot", type=int, default=None)
    parser.add_argument("--reload-at-frame", type=int, default=60)
    parser.add_argument("--drop-slot", type=int, default=None)
    parser.add_argument("--drop-at-frame", type=int, default=60)
    parser.add_argument("--drop-s", type=float, default=5.0)
    parser.add_argument("--blackhole-at-frame", type=int, default=None)
    parser.add_argument("--blackhole-s", type=float, default=8.0)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--idle-slot", type=int, default=None)
    args = parser.parse_args()
    result: dict[str, Any] = {"players": [], "close_to_end_s": None, "log": []}
    try:
        run(args, result)
    finally:  # the pages' console goes with a failure too, to show what they saw
        (Path(args.work) / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
