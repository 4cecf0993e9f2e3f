"""Helpers for trying an experiment locally and for tests: a throw-away coturn TURN server."""

from mug.testing.coturn import Coturn, CoturnError, CoturnNotInstalled, free_port, stun_binding_ok

__all__ = ["Coturn", "CoturnError", "CoturnNotInstalled", "free_port", "stun_binding_ok"]
