"""Real WebRTC traffic through an impaired TURN leg: coturn + `udp_proxy` + MUG server + two headless Chromium pages.

Run (everything on 127.0.0.1, every part stops by itself; about 1-2 minutes per profile):

    .venv/bin/python benchmarks/impairment/run.py --mode rtc        # plain RTCPeerConnection pages, no MUG client
    .venv/bin/python benchmarks/impairment/run.py --mode mug        # the MUG experiment flow, 2-player catch_duo
    .venv/bin/python benchmarks/impairment/run.py --mode check      # coturn + proxy only: TURN Allocate via the proxy
    options: --profiles rtt0,rtt50,rtt150,rtt50-jitter,rtt0-loss5,rtt150-loss5  --seconds 20  --max-minutes 20
             --env catch|grid (MUG mode: the light Catch, or the heavy 160x128 rgb gridworld mug.demos.grid_duo)
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

`--mode mug`: the MUG server serves `experiment` in `mug_mode.py` (catch_duo, `input_delay="auto"`, relay forced, TURN
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
    own D max         the page's own input delay at its largest (`status().match.pacing.max_delay`: the adaptive
                      delay of mug/client/lockstep/pacing.py raises it when its partner's slack runs out)
    paced %           time pacing added between frames, over the game's length (the game ran that much slower
                      than its fps to keep pace with a slower partner)

Layout: this file is the entry point (flags, the order of parts, cleanup); `harness.py` has the profiles, the proxy
thread and the TURN check; `rtc.py` the plain RTCPeerConnection mode; `mug_mode.py` the MUG mode, its experiment
and table; `udp_proxy.py` the impairment proxy; coturn is `mug.testing.coturn.Coturn`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import CHROMIUM, CHROMIUM_ARGS, DEFAULT_PROFILES, FPS, PROFILES, ProxyThread, check
from mug_mode import MugServer, export, mug_profile, mug_rows, print_mug_table
from rtc import BlankSite, print_rtc_table, rtc_profile

from mug.testing.coturn import Coturn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["check", "rtc", "mug"], default="rtc")
    parser.add_argument("--profiles", default=DEFAULT_PROFILES, help=f"comma-separated, of {sorted(PROFILES)}")
    parser.add_argument("--seconds", type=float, default=20.0, help="rtc: ping seconds; mug: game length (frames/30)")
    parser.add_argument("--bundle", type=Path, default=None, help="mug: the Pyodide bundle (default: build one)")
    parser.add_argument("--max-minutes", type=float, default=20.0, help="hard bound on the whole run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--env", choices=["catch", "grid"], default="catch", help="mug: the light or the heavy game")
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
        coturn = Coturn(secret=secret, work_dir=work).start()
        parts.append(coturn)
        proxy = ProxyThread(coturn.port, lifetime, args.seed)
        parts.append(proxy)
        print(f"coturn 127.0.0.1:{coturn.port}, proxy 127.0.0.1:{proxy.port} -> coturn; work folder {work}")
        print(
            "check:",
            json.dumps(check(proxy.port, coturn.port, secret)),
            "proxy:",
            json.dumps({k: proxy.summary()[k]["packets_in"] for k in ("up", "down")}),
        )
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
            server = MugServer(work, bundle, proxy.port, secret, int(args.seconds * FPS), args.env)
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
            except Exception as exc:
                print(f"stopping {type(part).__name__}: {exc}")
        watchdog.cancel()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
