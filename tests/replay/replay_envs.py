"""Policies and env factories for the replay tests: a legal-move policy, and envs MUG's authors did not write."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np


def make_legal_policy(agent: Any, action_space: Any) -> Any:
    """A random legal move, from the mask in the observation (PettingZoo's convention)."""
    return lambda obs, rng: int(rng.choice(np.flatnonzero(obs["action_mask"])))


class NoPicture(gymnasium.Wrapper):  # type: ignore[type-arg]
    """Gymnasium's own env, drawn as nothing (its rgb_array rendering needs pygame, which is not installed)."""

    def render(self) -> None:
        return None


def cartpole(**kwargs: Any) -> gymnasium.Env:  # type: ignore[type-arg]
    """Gymnasium's CartPole-v1 as `gymnasium.make` builds it (time limit, order enforcing, env checker)."""
    kwargs.pop("render_mode", None)
    return NoPicture(gymnasium.make("CartPole-v1", **kwargs))


def pettingzoo_tictactoe(**kwargs: Any) -> Any:
    """PettingZoo's own tic-tac-toe (AEC), drawn as nothing; needs `GameScene.pygame_stub=True`."""
    from pettingzoo.classic.tictactoe.tictactoe import env
    from pettingzoo.utils import BaseWrapper

    class NoPictureAEC(BaseWrapper):  # type: ignore[misc,type-arg]
        def render(self) -> None:
            return None

    return NoPictureAEC(env())
