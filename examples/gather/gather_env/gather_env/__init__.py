"""Gather, a PettingZoo parallel gridworld whose agents are the integers 0 and 1 (see `gather_env.gridworld`)."""

from gather_env.gridworld import GatherEnv, parallel_env

__all__ = ["GatherEnv", "parallel_env"]
