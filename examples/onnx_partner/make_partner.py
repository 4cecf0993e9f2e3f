"""Build `partner.onnx`, the example's AI partner: a linear layer that moves its paddle toward the fruit.

A trained agent exported from PyTorch (`torch.onnx.export`) or JAX would take its place unchanged; this one
is written by hand so the example needs no training and no GPU. The Catch observation of each agent is
`[own paddle x, lowest fruit x, y, next fruit x, y, third fruit x, y, misses left, other paddle x]`; the
logits of (left, stay, right) are `50 * (paddle - fruit)`, `1`, `50 * (fruit - paddle)`, so the argmax
moves toward the lowest fruit and stays when within 2% of the width of it.

    .venv/bin/python examples/onnx_partner/make_partner.py   # needs the `onnx` package (the dev extras)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mug.testing.onnx_models import linear_policy

HERE = Path(__file__).parent
WEIGHTS = np.zeros((9, 3), dtype=np.float32)
WEIGHTS[0] = [50, 0, -50]  # own paddle x
WEIGHTS[1] = [-50, 0, 50]  # the lowest fruit's x
BIAS = np.array([0, 1, 0], dtype=np.float32)


def main() -> None:
    data = linear_policy(WEIGHTS, BIAS, path=HERE / "partner.onnx")
    print(f"wrote {HERE / 'partner.onnx'} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
