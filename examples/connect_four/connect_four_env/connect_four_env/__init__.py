"""Connect four, a PettingZoo AEC environment (see `connect_four_env.game`)."""

from connect_four_env.game import env, raw_env

__all__ = ["env", "raw_env"]
