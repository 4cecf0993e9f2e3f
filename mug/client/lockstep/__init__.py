"""The sans-IO lockstep core: deterministic lockstep between browser peers, driven by its caller.

Runs in the Pyodide worker and in CPython tests alike (standard library only). Entry point:
`LockstepSession`; its `poll(now_ms)` returns `Request`s (Send, Ready, Step, Stalled, Desync, PeerGone).
See `session.py` for the protocol, `wire.py` for the byte format, `timing.py` for the constants.
"""

from .lifecycle import IllegalTransition, SessionState
from .requests import Desync, PeerGone, Ready, Request, Send, Stalled, Step
from .session import LockstepSession
from .wire import PeerMessageError

__all__ = [
    "Desync",
    "IllegalTransition",
    "LockstepSession",
    "PeerGone",
    "Ready",
    "Request",
    "Send",
    "SessionState",
    "Stalled",
    "Step",
    "PeerMessageError",
]
