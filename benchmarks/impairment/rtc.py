"""`--mode rtc`: two plain RTCPeerConnection pages (no MUG client) ping each other through the impaired relay."""

from __future__ import annotations

import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness import FPS, PROFILES, Profile, ProxyThread

from mug.server.ice import mint_turn_credentials


class BlankSite:
    """An empty page on a loopback origin (a secure context) for the plain RTCPeerConnection pages."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
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


def rtc_profile(
    browser: Any, site: BlankSite, proxy: ProxyThread, secret: str, profile: Profile, seconds: float
) -> dict[str, Any]:
    contexts = [browser.new_context() for _ in range(2)]
    try:
        pages = [c.new_page() for c in contexts]
        for i, page in enumerate(pages):
            page.goto(site.url)
            page.evaluate(RTC_JS)
            creds = mint_turn_credentials(secret, f"rtc-{profile.name}-{i}", time.time(), ttl_s=3600)
            page.evaluate(
                "(c) => window.bench.make(c)",
                {
                    "iceServers": [
                        {
                            "urls": [f"turn:127.0.0.1:{proxy.port}"],
                            "username": creds.username,
                            "credential": creds.credential,
                        }
                    ],
                    "iceTransportPolicy": "relay",
                },
            )
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
            "profile": profile.name,
            "connect_ms": round(connect_ms),
            "sent": result["sent"],
            "echoed": len(rtts),
            "rtt_p50": pct(rtts, 0.5),
            "rtt_p95": pct(rtts, 0.95),
            "rtt_max": max(rtts) if rtts else None,
            "pair_rtt_ms": stats["rtt_ms"],
            "candidates": f"{stats['local']}/{stats['remote']}",
            "rt_loss": rt_loss,
            "one_way_loss": None if rt_loss is None else 1 - math.sqrt(max(0.0, 1 - rt_loss)),
            "proxy": proxy.summary(),
        }
    finally:
        for c in contexts:
            c.close()


def print_rtc_table(rows: list[dict[str, Any]]) -> None:
    print("\nplain RTCPeerConnection through coturn + proxy (data channel unordered, maxRetransmits 0; 30 Hz pings)")
    head = (
        f"{'profile':<15}{'set rtt':>8}{'jit/dir':>8}{'loss 1w':>8}{'connect':>9}{'rtt p50':>9}{'rtt p95':>9}"
        f"{'ICE rtt':>9}{'rt loss':>9}{'1w loss':>9}{'cands':>14}{'proxy up/down drop':>20}"
    )
    print(head)
    for r in rows:
        p = PROFILES[r["profile"]]
        if "error" in r:
            print(f"{p.name:<15}  {r['error']}")
            continue
        f = lambda x, d=1: "-" if x is None else f"{x:.{d}f}"  # noqa: E731
        px = r["proxy"]
        print(
            f"{p.name:<15}{p.rtt_ms:>8.0f}{p.jitter_ms:>8.0f}{100 * p.loss:>7.1f}%{r['connect_ms']:>7}ms"
            f"{f(r['rtt_p50']):>9}{f(r['rtt_p95']):>9}{f(r['pair_rtt_ms']):>9}{100 * (r['rt_loss'] or 0):>8.1f}%"
            f"{100 * (r['one_way_loss'] or 0):>8.1f}%{r['candidates']:>14}"
            f"{px['up']['dropped']:>9}/{px['down']['dropped']:<4}"
            f"of {px['up']['packets_in'] + px['down']['packets_in']}"
        )
