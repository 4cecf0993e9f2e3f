"""Real WebRTC traffic through an impaired TURN leg: coturn + `udp_proxy` + MUG server + two headless Chromium pages.

Run (everything on 127.0.0.1, every part stops by itself; about 1-2 minutes per profile):

    .venv/bin/python benchmarks/impairment/run.py --mode rtc        # plain RTCPeerConnection pages, no MUG client
    .venv/bin/python benchmarks/impairment/run.py --mode mug        # the MUG experiment flow, 2-player catch_duo
    .venv/bin/python benchmarks/impairment/run.py --mode check      # coturn + proxy only: TURN Allocate via the proxy
    options: --profiles rtt0,rtt50,rtt150,rtt50-jitter,rtt0-loss5,rtt150-loss5  --seconds 20  --max-minutes 20
             --bundle DIR (MUG mode; default: built into a temporary folder with `mug.bundle.build_bundle`)

Set-up:

    Chromium A --UDP--> proxy (impairs) --> coturn 127.0.0.1 <-- proxy (impairs) <--UDP-- Chromium B
                                            (relay to relay)

coturn: `--use-auth-secret --static-auth-secret=...` on free ports (flags from FIELD-NOTES). The pages get
`turn:127.0.0.1:<proxy port>` and relay-only ICE (`iceTransportPolicy: "relay"`), so everything a page sends
(TURN control, ICE checks, DTLS, SCTP data) crosses its leg through the proxy.

Profiles give the peer-to-peer figures; the proxy gets per-direction values (see udp_proxy's docstring):
delay per direction d = rtt / 4 (A's leg up + B's leg down each way); jitter per direction j (each packet's delay
is d + U(-j, +j), order kept); loss: the profile's value p is the one-way peer-to-peer loss, so each direction of
each leg drops with q = 1 - sqrt(1 - p) (a message crosses two proxy directions: 1 - (1 - q)^2 = p).

`--mode rtc` (no MUG client needed): two pages on a loopback origin build an RTCPeerConnection with the same data
channel as MUG's transport (negotiated id 0, unordered, maxRetransmits 0); the harness passes offer and answer
(non-trickle). Page A sends a 100-byte ping at 30 Hz for `--seconds`, B echoes. Printed: connect time,
round trip p50/p95 (application level) and the candidate pair's `currentRoundTripTime`, round-trip loss and the
one-way loss it implies, candidate types (must be relay).

`--mode mug`: the MUG server serves `experiment` below (catch_duo, `input_delay="auto"`, relay forced, TURN
credentials minted from the secret); for each profile two new browser contexts open the study link, click
`[data-testid=mug-continue]` whenever shown, and, once `body[data-mug-phase]` is "playing", hold random arrow keys
(seeded) until the end scene. `window.mug.status()` is polled; at the end `mug export` gives the server's
`matches.csv` / `match_links.csv`. Table columns:

    ICE rtt           median of the pages' `status().match.peers[].rtt_ms` while playing (ICE candidate pair RTT)
    app rtt           median of `peers[].lockstep_rtt_ms` (the lockstep's own round trip over the data channel),
                      when the client reports it
    delay             input delay D in frames (`status().match.input_delay`, agreed from the round trips)
    stalls            stall events (the frame clock found a peer's input missing and waited; one per stall)
    stalled %         stalls / frames: share of frames at which a stall began
    stall ms          total time stalled
    stall fr/input    stall time in frames per frame played: (stall_ms / frame_ms) / frames
    latency fr        input-to-display latency in frames = D + D * stall fr/input: a key pressed now is applied
                      D frames later, and those D frames take, on average, D * (stall time per frame) longer
                      than D frame periods (drawing the stepped frame adds the same +1 frame in every profile
                      and is left out)
    desyncs           checksum mismatches reported by the pages
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import hashlib
import hmac
import json
import math
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from udp_proxy import Impairment, ProxyConfig, UdpImpairmentProxy  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
REALM = "mug.test"
FPS = 30


@dataclass(frozen=True)
class Profile:
    name: str
    rtt_ms: float
    jitter_ms: float = 0.0  # per direction of each leg
    loss: float = 0.0  # one-way, peer to peer

    @property
    def per_direction(self) -> Impairment:
        q = 1 - math.sqrt(1 - self.loss) if self.loss else 0.0
        return Impairment(delay_ms=self.rtt_ms / 4, jitter_ms=self.jitter_ms, loss=q, keep_order=True)


PROFILES = {p.name: p for p in [
    Profile("rtt0", 0), Profile("rtt50", 50), Profile("rtt150", 150), Profile("rtt50-jitter", 50, jitter_ms=10),
    Profile("rtt150-jitter", 150, jitter_ms=20), Profile("rtt0-loss5", 0, loss=0.05),
    Profile("rtt50-loss5", 50, loss=0.05), Profile("rtt150-loss5", 150, loss=0.05),
]}
DEFAULT_PROFILES = "rtt0,rtt50,rtt150,rtt50-jitter,rtt0-loss5,rtt150-loss5"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free for TCP and UDP (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def turn_credentials(secret: str, who: str, ttl_s: int = 3600) -> tuple[str, str]:
    username = f"{int(time.time()) + ttl_s}:{who}"
    return username, base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def stun_binding_ok(port: int, timeout_s: float = 0.3) -> bool:
    """One STUN Binding request to 127.0.0.1:port; True when a success response comes back."""
    tid = os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout_s)
        s.sendto(b"\x00\x01\x00\x00\x21\x12\xa4\x42" + tid, ("127.0.0.1", port))
        try:
            data, _ = s.recvfrom(2048)
        except TimeoutError:
            return False
    return data[:2] == b"\x01\x01" and data[8:20] == tid


# ---------------------------------------------------------------------------------------------- the parts


class Coturn:
    def __init__(self, work: Path, secret: str) -> None:
        self.port = free_port()
        low = random.randrange(50000, 60000, 200)
        self.log = work / "coturn.log"
        args = [TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={self.port}",
                f"--min-port={low}", f"--max-port={low + 199}", "--no-tls", "--no-dtls", "--no-cli",
                "--allow-loopback-peers", "--fingerprint", f"--realm={REALM}", "--use-auth-secret",
                f"--static-auth-secret={secret}", f"--userdb={work / 'turndb'}", f"--pidfile={work / 'turn.pid'}",
                f"--log-file={self.log}", "--simple-log", "--no-stdout-log"]
        self.out = (work / "coturn.out").open("wb")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not stun_binding_ok(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"coturn did not start; see {self.log}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


class ProxyThread:
    """The impairment proxy on its own asyncio loop in a thread (the harness uses Playwright's sync API)."""

    def __init__(self, upstream_port: int, lifetime_s: float, seed: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.proxy: UdpImpairmentProxy | None = None
        cfg = ProxyConfig(("127.0.0.1", 0), ("127.0.0.1", upstream_port), seed=seed, duration_s=lifetime_s)
        self.thread = threading.Thread(target=self._run, args=(cfg,), daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("proxy did not start")

    def _run(self, cfg: ProxyConfig) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.proxy = await UdpImpairmentProxy(cfg).start()
            self.ready.set()
            await self.proxy.wait()

        self.loop.run_until_complete(main())
        self.loop.close()

    @property
    def port(self) -> int:
        assert self.proxy is not None
        return self.proxy.address[1]

    def set_profile(self, profile: Profile, seed: int) -> None:
        """New impairment both ways and fresh counters (applied on the proxy's loop)."""
        from udp_proxy import _Direction

        done = threading.Event()

        def apply() -> None:
            assert self.proxy is not None
            imp = profile.per_direction
            self.proxy.up = _Direction("up", imp, seed)
            self.proxy.down = _Direction("down", imp, seed)
            done.set()

        self.loop.call_soon_threadsafe(apply)
        done.wait(5)

    def summary(self) -> dict[str, Any]:
        assert self.proxy is not None
        return self.proxy.summary()

    def stop(self) -> None:
        if self.proxy is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.proxy.stop)
        self.thread.join(5)


class BlankSite:
    """An empty page on a loopback origin (a secure context) for the plain RTCPeerConnection pages."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = b"<!doctype html><title>rtc bench</title><body></body>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------------------------- check


def check(proxy_port: int, coturn_port: int, secret: str) -> dict[str, Any]:
    """A real TURN Allocate through the proxy (tests/server/turn_client.py) and a Binding straight to coturn."""
    sys.path.insert(0, str(ROOT / "tests" / "server"))
    from turn_client import A_XOR_RELAYED, TurnClient

    user, password = turn_credentials(secret, "check")
    with TurnClient("127.0.0.1", proxy_port, timeout_s=3) as client:
        t0 = time.perf_counter()
        resp = client.allocate(user, password)
        took = (time.perf_counter() - t0) * 1000
        relayed = resp.xor_address(A_XOR_RELAYED) if resp.ok else None
    return {"direct_binding_ok": stun_binding_ok(coturn_port), "allocate_via_proxy_ok": resp.ok,
            "relayed_address": relayed, "allocate_ms": round(took, 1), "error_code": resp.error_code}


# ---------------------------------------------------------------------------------------------- rtc mode

RTC_JS = """
window.bench = {
  async make(config) {
    const pc = new RTCPeerConnection(config);
    const ch = pc.createDataChannel("mug", {negotiated: true, id: 0, ordered: false, maxRetransmits: 0});
    Object.assign(this, {pc, ch, rtts: [], echoed: 0, t0: performance.now(), openMs: null});
    this.opened = new Promise((resolve) => {
      ch.onopen = () => { this.openMs = performance.now() - this.t0; resolve(); };
    });
    ch.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.echo) this.rtts.push([m.seq, performance.now() - m.t]);
      else { m.echo = 1; ch.send(JSON.stringify(m)); this.echoed++; }
    };
  },
  async gathered() {
    if (this.pc.iceGatheringState === "complete") return;
    await new Promise((resolve) => {
      this.pc.addEventListener("icegatheringstatechange", () => {
        if (this.pc.iceGatheringState === "complete") resolve();
      });
      setTimeout(resolve, 15000);
    });
  },
  async offer() { await this.pc.setLocalDescription(await this.pc.createOffer()); await this.gathered();
    return this.pc.localDescription.toJSON(); },
  async answer(offer) {
    await this.pc.setRemoteDescription(offer);
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await this.gathered();
    return this.pc.localDescription.toJSON();
  },
  async accept(answer) { await this.pc.setRemoteDescription(answer); },
  async open(timeoutMs) { await Promise.race([this.opened, new Promise((r) => setTimeout(r, timeoutMs))]);
    return this.ch.readyState === "open" ? this.openMs : null; },
  async ping(hz, seconds) {
    const pad = "x".repeat(60);
    let seq = 0;
    const timer = setInterval(() => {
      if (this.ch.readyState === "open") this.ch.send(JSON.stringify({seq: seq++, t: performance.now(), pad}));
    }, 1000 / hz);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    clearInterval(timer);
    await new Promise((r) => setTimeout(r, 1500));  // late echoes
    return {sent: seq, rtts: this.rtts.map((x) => x[1])};
  },
  async stats() {
    const out = {rtt_ms: null, local: null, remote: null};
    const report = await this.pc.getStats();
    let pairId = null;
    report.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    report.forEach((s) => {
      if (s.type === "candidate-pair" && (pairId ? s.id === pairId : s.nominated && s.state === "succeeded")) {
        if (typeof s.currentRoundTripTime === "number") out.rtt_ms = s.currentRoundTripTime * 1000;
        out.local = report.get(s.localCandidateId)?.candidateType ?? null;
        out.remote = report.get(s.remoteCandidateId)?.candidateType ?? null;
      }
    });
    return out;
  },
  close() { this.pc.close(); },
};
"""


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rtc_profile(browser: Any, site: BlankSite, proxy: ProxyThread, secret: str, profile: Profile,
                seconds: float) -> dict[str, Any]:
    contexts = [browser.new_context() for _ in range(2)]
    try:
        pages = [c.new_page() for c in contexts]
        for i, page in enumerate(pages):
            page.goto(site.url)
            page.evaluate(RTC_JS)
            user, password = turn_credentials(secret, f"rtc-{profile.name}-{i}")
            page.evaluate("(c) => window.bench.make(c)", {
                "iceServers": [{"urls": [f"turn:127.0.0.1:{proxy.port}"], "username": user, "credential": password}],
                "iceTransportPolicy": "relay"})
        a, b = pages
        t0 = time.perf_counter()
        offer = a.evaluate("window.bench.offer()")
        answer = b.evaluate("(o) => window.bench.answer(o)", offer)
        a.evaluate("(x) => window.bench.accept(x)", answer)
        opened = [p.evaluate("window.bench.open(30000)") for p in pages]
        connect_ms = (time.perf_counter() - t0) * 1000
        if None in opened:
            return {"profile": profile.name, "error": "data channel did not open", "proxy": proxy.summary()}
        b.evaluate("0")
        result = a.evaluate("([hz, s]) => window.bench.ping(hz, s)", [FPS, seconds])
        stats = a.evaluate("window.bench.stats()")
        rtts = result["rtts"]
        rt_loss = 1 - len(rtts) / result["sent"] if result["sent"] else None
        for p in pages:
            p.evaluate("window.bench.close()")
        return {
            "profile": profile.name, "connect_ms": round(connect_ms), "sent": result["sent"], "echoed": len(rtts),
            "rtt_p50": pct(rtts, 0.5), "rtt_p95": pct(rtts, 0.95), "rtt_max": max(rtts) if rtts else None,
            "pair_rtt_ms": stats["rtt_ms"], "candidates": f"{stats['local']}/{stats['remote']}",
            "rt_loss": rt_loss, "one_way_loss": None if rt_loss is None else 1 - math.sqrt(max(0.0, 1 - rt_loss)),
            "proxy": proxy.summary(),
        }
    finally:
        for c in contexts:
            c.close()


def print_rtc_table(rows: list[dict[str, Any]]) -> None:
    print("\nplain RTCPeerConnection through coturn + proxy (data channel unordered, maxRetransmits 0; 30 Hz pings)")
    head = (f"{'profile':<15}{'set rtt':>8}{'jit/dir':>8}{'loss 1w':>8}{'connect':>9}{'rtt p50':>9}{'rtt p95':>9}"
            f"{'ICE rtt':>9}{'rt loss':>9}{'1w loss':>9}{'cands':>14}{'proxy up/down drop':>20}")
    print(head)
    for r in rows:
        p = PROFILES[r["profile"]]
        if "error" in r:
            print(f"{p.name:<15}  {r['error']}")
            continue
        f = lambda x, d=1: "-" if x is None else f"{x:.{d}f}"  # noqa: E731
        px = r["proxy"]
        print(f"{p.name:<15}{p.rtt_ms:>8.0f}{p.jitter_ms:>8.0f}{100 * p.loss:>7.1f}%{r['connect_ms']:>7}ms"
              f"{f(r['rtt_p50']):>9}{f(r['rtt_p95']):>9}{f(r['pair_rtt_ms']):>9}{100 * (r['rt_loss'] or 0):>8.1f}%"
              f"{100 * (r['one_way_loss'] or 0):>8.1f}%{r['candidates']:>14}"
              f"{px['up']['dropped']:>9}/{px['down']['dropped']:<4}"
              f"of {px['up']['packets_in'] + px['down']['packets_in']}")


# ---------------------------------------------------------------------------------------------- mug mode


def _experiment() -> Any:
    """The benchmark experiment, built from the environment the harness sets for the server process."""
    from mug.configurations import EndScene, Experiment, GameScene, Lobby, RemoteConfig

    secret = os.environ.get("IMPAIR_TURN_SECRET", "unset")
    port = os.environ.get("IMPAIR_PROXY_PORT", "3478")
    steps = int(os.environ.get("IMPAIR_MAX_STEPS", "600"))
    scene = GameScene(id="duo", env="mug.demos.catch_duo:make_env", agents={"left": "human", "right": "human"},
                      key_bindings={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1, fps=FPS, num_episodes=1,
                      max_steps=steps, input_delay="auto", lobby=Lobby(timeout_s=120, on_timeout="end"))
    remote = RemoteConfig().webrtc(turn_secret=secret, turn_urls=[f"turn:127.0.0.1:{port}"], stun_urls=[],
                                   force_relay=True, load_env_file=False)
    return Experiment(id="impairment", title="impairment", scenes=[scene, EndScene(id="end", completion_code="DONE")],
                      remote=remote)


def __getattr__(name: str) -> Any:  # `experiment` is built when the server loads it (MUG_EXPERIMENT=run.py:experiment)
    if name == "experiment":
        return _experiment()
    raise AttributeError(name)


class MugServer:
    def __init__(self, work: Path, bundle: Path, proxy_port: int, secret: str, max_steps: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = f"sqlite:///{work / 'data.sqlite3'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MUG_")}
        env.update(MUG_DATABASE_URL=self.db, MUG_BUNDLE_DIR=str(bundle), MUG_LOG_LEVEL="info",
                   MUG_EXPERIMENT=f"{Path(__file__).resolve()}:experiment", IMPAIR_TURN_SECRET=secret,
                   IMPAIR_PROXY_PORT=str(proxy_port), IMPAIR_MAX_STEPS=str(max_steps))
        self.log = (work / "server.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "mug.app:app", "--host", "127.0.0.1", "--port",
                                      str(self.port)], cwd=work, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):  # noqa: S310 (loopback)
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"MUG server did not start; see {work / 'server.log'}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def mug_profile(browser: Any, server: MugServer, profile: Profile, max_steps: int, rng: random.Random,
                log: list[str]) -> dict[str, Any]:
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
                    polls[i].append({"t": round(time.monotonic() - t0, 2), "phase": phase, "frame": st.get("frame"),
                                     "rtt": [p.get("rtt_ms") for p in st["match"].get("peers", [])],
                                     "app_rtt": [p.get("lockstep_rtt_ms") for p in st["match"].get("peers", [])],
                                     "delay": st["match"].get("input_delay"), "stalls": st["match"].get("stalls"),
                                     "state": st["match"].get("state")})
                if phase == "playing":
                    playing_at = playing_at or time.monotonic()
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
        result["pages"] = [{"match": last_match[i], "frames": frames[i], "polls": polls[i]} for i in range(2)]
        return result
    finally:
        for c in contexts:
            c.close()


def export(server: MugServer, out: Path) -> dict[str, list[dict[str, str]]]:
    subprocess.run([sys.executable, "-c", "import sys; from mug.cli import main; sys.exit(main())", "export",
                    "--database", server.db, "--out", str(out)], check=True, timeout=120, capture_output=True)
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
            delay = m.get("input_delay") if m.get("input_delay") is not None else (
                int(num("input_delay", 0)) if link else None)
            stalls = num("stalls", m.get("stalls") or 0)
            stall_ms = num("stall_ms", m.get("stall_ms") or 0.0)
            desyncs = link.get("desyncs") if link else None
            n_desync = len(json.loads(desyncs)) if desyncs else len(m.get("desyncs") or [])
            stall_per_input = (stall_ms / (1000 / FPS)) / frames if frames else None
            per_page.append({
                "rtt": statistics.median(rtts) if rtts else None, "app_rtt": statistics.median(app) if app else None,
                "delay": delay, "frames": frames, "stalls": stalls,
                "stalled": stalls / frames if frames else None, "stall_per_input": stall_per_input,
                "latency": None if delay is None or stall_per_input is None else delay * (1 + stall_per_input),
                "desyncs": n_desync, "state": m.get("state"), "stall_ms": stall_ms, "from_export": bool(link),
            })
        rows.append({"profile": p, "pages": per_page, "to_playing_s": r.get("to_playing_s"),
                     "phases": r.get("phases"), "proxy": r.get("proxy_summary")})
    return rows


def print_mug_table(rows: list[dict[str, Any]]) -> None:
    print("\nMUG 2-player catch_duo through coturn + proxy (relay forced, input_delay auto), one line per page (slot)")
    print(f"{'profile':<15}{'set rtt':>8}{'jit':>5}{'loss':>6}{'ICE rtt':>8}{'app rtt':>8}{'delay':>6}{'frames':>7}"
          f"{'stalls':>7}{'stalled %':>10}{'stall ms':>9}{'stall fr/in':>12}{'latency fr':>11}{'desyncs':>8}"
          f"{'to play s':>10}  state / end")
    for r in rows:
        p = r["profile"]
        for i, pg in enumerate(r["pages"]):
            f = lambda x, d=1: "-" if x is None else f"{x:.{d}f}"  # noqa: E731
            name = p.name if i == 0 else ""
            set_cols = (f"{p.rtt_ms:>8.0f}{p.jitter_ms:>5.0f}{100 * p.loss:>5.0f}%" if i == 0 else " " * 19)
            print(f"{name:<15}{set_cols}{f(pg['rtt']):>8}{f(pg['app_rtt']):>8}{f(pg['delay'], 0):>6}{pg['frames']:>7}"
                  f"{f(pg['stalls'], 0):>7}{f(None if pg['stalled'] is None else 100 * pg['stalled']):>10}"
                  f"{f(pg['stall_ms'], 0):>9}{f(pg['stall_per_input'], 3):>12}{f(pg['latency'], 2):>11}"
                  f"{pg['desyncs']:>8}{f(r['to_playing_s'] if i == 0 else None):>10}  {pg['state']} / "
                  f"{(r['phases'] or {}).get(i)}")
        px = r["proxy"]
        if px:
            print(f"{'':<15}proxy: up {px['up']['packets_in']} pkts, {px['up']['dropped']} dropped, mean delay "
                  f"{px['up']['mean_delay_ms']} ms; down {px['down']['packets_in']} pkts, {px['down']['dropped']} "
                  f"dropped, mean delay {px['down']['mean_delay_ms']} ms")


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["check", "rtc", "mug"], default="rtc")
    parser.add_argument("--profiles", default=DEFAULT_PROFILES, help=f"comma-separated, of {sorted(PROFILES)}")
    parser.add_argument("--seconds", type=float, default=20.0, help="rtc: ping seconds; mug: game length (frames/30)")
    parser.add_argument("--bundle", type=Path, default=None, help="mug: the Pyodide bundle (default: build one)")
    parser.add_argument("--max-minutes", type=float, default=20.0, help="hard bound on the whole run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, export, raw json)")
    args = parser.parse_args()
    profiles = [PROFILES[name] for name in args.profiles.split(",")]
    lifetime = args.max_minutes * 60
    hard_deadline = time.monotonic() + lifetime
    work = Path(tempfile.mkdtemp(prefix="mug-impair-"))
    secret = secrets.token_hex(16)
    parts: list[Any] = []
    watchdog = threading.Timer(lifetime + 60, lambda: os._exit(3))  # everything stops by itself
    watchdog.daemon = True
    watchdog.start()
    try:
        coturn = Coturn(work, secret)
        parts.append(coturn)
        proxy = ProxyThread(coturn.port, lifetime, args.seed)
        parts.append(proxy)
        print(f"coturn 127.0.0.1:{coturn.port}, proxy 127.0.0.1:{proxy.port} -> coturn; work folder {work}")
        print("check:", json.dumps(check(proxy.port, coturn.port, secret)), "proxy:",
              json.dumps({k: proxy.summary()[k]["packets_in"] for k in ("up", "down")}))
        if args.mode == "check":
            return
        from playwright.sync_api import sync_playwright

        server: MugServer | None = None
        site: BlankSite | None = None
        if args.mode == "mug":
            bundle = args.bundle
            if bundle is None:
                from mug.bundle import build_bundle

                bundle = work / "bundle"
                print("building the Pyodide bundle (offline caches) ...", flush=True)
                build_bundle(bundle, offline=True)  # caches and wheelhouse only: no network
            server = MugServer(work, bundle, proxy.port, secret, int(args.seconds * FPS))
            parts.append(server)
            print(f"MUG server {server.url}")
        else:
            site = BlankSite()
            parts.append(site)
        results = []
        log: list[str] = []
        rng = random.Random(args.seed)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for profile in profiles:
                    if time.monotonic() > hard_deadline - 60:
                        print(f"out of time before {profile.name}")
                        break
                    proxy.set_profile(profile, args.seed)
                    print(f"profile {profile.name}: per direction {profile.per_direction}", flush=True)
                    if args.mode == "rtc":
                        assert site is not None
                        r = rtc_profile(browser, site, proxy, secret, profile, args.seconds)
                    else:
                        assert server is not None
                        r = mug_profile(browser, server, profile, int(args.seconds * FPS), rng, log)
                        r["proxy_summary"] = proxy.summary()
                    results.append(r)
            finally:
                browser.close()
        (work / "results.json").write_text(json.dumps(results, indent=1, default=str))
        if args.mode == "rtc":
            print_rtc_table(results)
        else:
            assert server is not None
            server.stop()
            parts.remove(server)
            tables = export(server, work / "export")
            print_mug_table(mug_rows(results, tables.get("match_links", [])))
            print("\nserver export, match_links.csv:")
            for row in tables.get("match_links", []):
                print("  " + ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("match_id",)))
            print("server export, matches.csv:")
            for row in tables.get("matches", []):
                print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
            errors = [line for line in log if "error" in line.lower()]
            if errors:
                print(f"\n{len(errors)} console errors, first: {errors[:3]}")
        print(f"\nraw results: {work / 'results.json'}")
    finally:
        for part in reversed(parts):
            try:
                part.stop()
            except Exception as exc:  # noqa: BLE001
                print(f"stopping {type(part).__name__}: {exc}")
        watchdog.cancel()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
