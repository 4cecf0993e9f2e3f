"""ONNX policies: the Python half of an `OnnxPolicy`, which onnxruntime-web runs in the worker.

The model itself runs in JavaScript (`session.run` is asynchronous); Python decides what goes in and what
comes out, so the rules live in one place and CPython tests check them:

- `feeds(observation)`: the model's inputs. Default: the observation flattened to float32, shape [1, n],
  for the model's single input (named "" here: the worker gives it the model's one input name). A Dict
  observation is flattened key by key in sorted order, leaving out `action_mask`. With `input` set, the
  researcher's `f(observation) -> {input name: numpy array}` builds them.
- `action(outputs, rng, mask)`: the action from the outputs (`{name: numpy array}`, in the model's output
  order). "argmax": the index of the highest value of the first output; "sample": an index drawn with the
  policy's seeded generator from the softmax of the first output's values (taken as logits). Both leave
  out the actions the mask forbids and add a Discrete space's `start`. With `output` set to a function,
  `f(outputs, rng, action_mask) -> action` decides.

Feeds and outputs cross to JavaScript as JSON: `{name: {"type", "dims", "data"}}` with `data` a flat list.
float32 values survive the trip exactly (a float32 is a double, printed and read back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from mug.client.agents import AgentId
from mug.client.policies import PolicyError
from mug.client.spec import SpecError
from mug.refs import RefError, resolve_ref

ARGMAX = "argmax"
SAMPLE = "sample"
SINGLE_INPUT = ""  # the model's one input, whatever its name
TENSOR_TYPES = {"float32", "int32", "int64", "uint8", "bool"}


@dataclass(frozen=True)
class OnnxSpec:
    """An ONNX controller as the page gets it (`OnnxPolicy` with the model's URL and hash)."""

    model: str
    sha256: str
    input: str | None = None
    output: str = ARGMAX
    act_every: int = 1

    @classmethod
    def parse(cls, where: str, value: Mapping[str, Any]) -> OnnxSpec:
        """Read `{"kind": "onnx", "model", "sha256", "input", "output", "act_every"}`.

        Raises:
            SpecError: a field is missing or has the wrong type (the message names it).
        """
        model, sha = value.get("model"), value.get("sha256")
        if not isinstance(model, str) or not model:
            raise SpecError(f"{where}: an ONNX policy needs 'model', the model file's URL")
        if not isinstance(sha, str) or len(sha) != 64:
            raise SpecError(f"{where}: an ONNX policy needs 'sha256', the model file's SHA-256 (64 hex digits)")
        inp, out, every = value.get("input"), value.get("output", ARGMAX), value.get("act_every", 1)
        if inp is not None and not isinstance(inp, str):
            raise SpecError(f"{where}: 'input' must be null or 'package.module:callable', not {inp!r}")
        if not isinstance(out, str):
            raise SpecError(f"{where}: 'output' must be 'argmax', 'sample' or 'package.module:callable'")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise SpecError(f"{where}: 'act_every' must be a whole number of steps (1 or more), not {every!r}")
        return cls(model, sha, inp, out, every)

    def page(self) -> dict[str, str]:
        """What the worker loads: the model's URL and hash."""
        return {"model": self.model, "sha256": self.sha256}


def flatten(observation: Any) -> np.ndarray:
    """The default input: the observation as float32 of shape [1, n] (see the module docstring)."""
    if isinstance(observation, Mapping):
        parts = [
            np.asarray(observation[k], dtype=np.float32).ravel() for k in sorted(observation) if k != "action_mask"
        ]
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    elif isinstance(observation, tuple | list):
        flat = np.concatenate([np.asarray(o, dtype=np.float32).ravel() for o in observation])
    else:
        flat = np.asarray(observation, dtype=np.float32).ravel()
    return flat.reshape(1, -1)


def tensor(value: Any, where: str) -> dict[str, Any]:
    """A numpy array as `{"type", "dims", "data"}` for the worker."""
    arr = np.asarray(value)
    kind = "bool" if arr.dtype == np.bool_ else str(arr.dtype)
    if kind not in TENSOR_TYPES:
        raise PolicyError(f"{where}: input of dtype {arr.dtype}: use one of {sorted(TENSOR_TYPES)}")
    return {"type": kind, "dims": list(arr.shape), "data": arr.ravel().tolist()}


def from_tensor(value: Mapping[str, Any], where: str) -> np.ndarray:
    """`{"dims", "data"}` from the worker -> a numpy array (float outputs as float32)."""
    try:
        dims = [int(d) for d in value["dims"]]
        data = value["data"]
        kind = value.get("type", "float32")
        dtype = np.bool_ if kind == "bool" else np.dtype(kind)
        return np.asarray(data, dtype=dtype).reshape(dims)
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"{where}: the model's output is not a tensor the policy can read: {exc}") from exc


class OnnxController:
    """Feeds for the model and the action from its outputs, for one agent.

    Args:
        spec: the controller.
        agent: the agent it plays.
        action_space: the agent's action space (Discrete for "argmax" and "sample").

    Raises:
        PolicyError: a researcher function cannot be imported, or a built-in rule meets a space it cannot
            choose from.
    """

    def __init__(self, spec: OnnxSpec, agent: AgentId, action_space: Any) -> None:
        self.spec = spec
        self.agent = agent
        self.space = action_space
        self.where = f"ONNX policy for agent {agent!r}"
        self._input = self._ref(spec.input, "input") if spec.input is not None else None
        self._output = None if spec.output in (ARGMAX, SAMPLE) else self._ref(spec.output, "output")
        if self._output is None and not isinstance(action_space, spaces.Discrete):
            raise PolicyError(
                f"{self.where}: output={spec.output!r} picks one of n discrete actions, but the action space is "
                f"{action_space}; give output='package.module:callable' to turn the outputs into an action"
            )

    def _ref(self, ref: str, what: str) -> Any:
        try:
            return resolve_ref(ref, f"{self.where}: {what}")
        except RefError as exc:
            raise PolicyError(str(exc)) from exc

    def feeds(self, observation: Any) -> dict[str, dict[str, Any]]:
        """The model's inputs for this observation (`{name: tensor}`; "" is the model's single input)."""
        if self._input is None:
            return {SINGLE_INPUT: tensor(flatten(observation), self.where)}
        try:
            made = self._input(observation)
        except Exception as exc:
            raise PolicyError(f"{self.where}: input {self.spec.input!r} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(made, Mapping) or not made:
            raise PolicyError(f"{self.where}: input {self.spec.input!r} must return {{input name: numpy array}}")
        return {str(name): tensor(v, f"{self.where}: input {name!r}") for name, v in made.items()}

    def action(self, outputs: Mapping[str, Any], rng: np.random.Generator, mask: np.ndarray | None) -> Any:
        """The action from the model's outputs (`{name: array or tensor dict}`, in output order)."""
        arrays = {
            n: (from_tensor(v, self.where) if isinstance(v, Mapping) else np.asarray(v)) for n, v in outputs.items()
        }
        if not arrays:
            raise PolicyError(f"{self.where}: the model returned no outputs")
        if self._output is not None:
            try:
                return self._output(arrays, rng, mask)
            except Exception as exc:
                raise PolicyError(
                    f"{self.where}: output {self.spec.output!r} raised {type(exc).__name__}: {exc}"
                ) from exc
        return choose(next(iter(arrays.values())), self.spec.output, rng, mask, self.space, self.where)


def choose(
    values: np.ndarray, rule: str, rng: np.random.Generator, mask: np.ndarray | None, space: Any, where: str
) -> int:
    """Apply "argmax" or "sample" to one output over a Discrete space (see the module docstring).

    Raises:
        PolicyError: the output does not have one value per action, or the mask forbids every action.
    """
    n = int(space.n)
    scores = np.asarray(values, dtype=np.float64).ravel()
    if scores.size != n:
        raise PolicyError(
            f"{where}: the model's first output has {scores.size} values for an action space of {n} actions; "
            "export a model with one value per action (shape [1, n]) or give a function as output"
        )
    allowed = np.ones(n, dtype=bool) if mask is None else np.asarray(mask).ravel()[:n].astype(bool)
    if not allowed.any():
        raise PolicyError(f"{where}: the action mask forbids every action")
    if rule == ARGMAX:
        index = int(np.argmax(np.where(allowed, scores, -np.inf)))
    else:
        logits = np.where(allowed, scores, -np.inf)
        weights = np.exp(logits - logits[allowed].max())
        index = int(rng.choice(n, p=weights / weights.sum()))
    return int(space.start) + index
