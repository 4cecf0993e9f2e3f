"""Debian's Chromium as the tests and benchmarks launch it (through Playwright's `executable_path`).

`playwright install` is never needed. The flags keep a headless Chromium from reaching for hosts it cannot
reach here (background networking, component updates, sync) and let it run as root (`--no-sandbox`).
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Peer-to-peer pages in a private network namespace: plain IP ICE candidates instead of mDNS names.
WEBRTC_ARGS = [*CHROMIUM_ARGS, "--disable-features=WebRtcHideLocalIpsWithMdns"]
