"""Small ONNX models built offline with the `onnx` package (a development dependency), for tests and examples.

`linear_policy(weights, bias)` is one linear layer, `logits = obs @ weights + bias`: input "obs" float32
[1, n], output "logits" float32 [1, m]. Its argmax for a given observation is known in advance, so a test
can check every recorded action against numpy's `linear_logits`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def linear_logits(obs: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """What the model computes, in numpy (float32)."""
    flat = np.asarray(obs, dtype=np.float32).reshape(1, -1)
    return flat @ np.asarray(weights, dtype=np.float32) + np.asarray(bias, dtype=np.float32)


def linear_policy(weights: np.ndarray, bias: np.ndarray | None = None, path: Path | None = None) -> bytes:
    """The model's bytes (written to `path` too, if given).

    Args:
        weights: [n, m]: n observation values, m actions.
        bias: [m] (default zeros).
        path: where to write the `.onnx` file.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.asarray(weights, dtype=np.float32)
    if w.ndim != 2:
        raise ValueError(f"weights must be [n, m], not shape {w.shape}")
    n, m = w.shape
    b = np.zeros(m, dtype=np.float32) if bias is None else np.asarray(bias, dtype=np.float32).reshape(m)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["logits"])],
        "linear_policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, n])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, m])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    # opset 13 and IR version 8: what onnxruntime-web 1.30 and every recent exporter read
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    if path is not None:
        Path(path).write_bytes(data)
    return data
