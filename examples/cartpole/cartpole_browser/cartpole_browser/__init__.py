"""Gymnasium's CartPole-v1, made playable in the browser by wrappers (a MUG example)."""

from cartpole_browser.env import CoastAction, SurfaceCartPole, make_env

__all__ = ["CoastAction", "SurfaceCartPole", "make_env"]
