"""Dodge: steer a ship through falling asteroids (a MUG example environment)."""

from dodge_env.game import DodgeEnv, make_env

__all__ = ["DodgeEnv", "make_env"]
