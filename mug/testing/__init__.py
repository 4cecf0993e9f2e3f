"""Helpers for trying an experiment locally, for tests and for benchmarks.

`start_server` (MUG's server on a free port, ready on /healthz), `wait_until` (a condition with a deadline),
`Coturn` (a throw-away TURN server), `free_port`; `mug.testing.lockstep` drives the lockstep core in CPython.
Never shipped to the browser.
"""

from mug.testing.coturn import Coturn, CoturnError, CoturnNotInstalled, free_port, stun_binding_ok
from mug.testing.server import RunningServer, start_server
from mug.testing.wait import wait_until, wait_until_async

__all__ = [
    "Coturn",
    "CoturnError",
    "CoturnNotInstalled",
    "RunningServer",
    "free_port",
    "start_server",
    "stun_binding_ok",
    "wait_until",
    "wait_until_async",
]
