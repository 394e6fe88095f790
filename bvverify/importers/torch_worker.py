"""``python -m bvverify.importers.torch_worker MODEL.pt ENGINE IN.npy OUT.npz``

Runs a TorchScript model in a fresh process, whose kernels the parent chose with
``FBGEMM_ENABLE_INSTRUCTIONS`` / ``ATEN_CPU_CAPABILITY`` (both are read once per
process), and saves torch's output (codes, or dequantized floats) for the parent's
counterexample replay.
"""

from __future__ import annotations

import sys

import numpy as np


def main(argv: list[str]) -> int:
    from bvverify.importers.torch import run_module
    from bvverify.importers.torch_check import load_module

    path, engine, src, dst = argv
    module = load_module(path, engine)
    values, quantized = run_module(module, engine, np.load(src))
    np.savez(dst, values=values, quantized=np.bool_(quantized))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
