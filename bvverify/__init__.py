"""bvverify: verify quantized neural networks as they run, bit for bit.

The public surface is small on purpose:

- :func:`from_torch` imports a converted (eager / FX) PyTorch quantized model;
- :func:`load` reads a model file (native, TorchScript, QVIP/AAAI'21 Keras h5);
- :class:`QNetwork` is the integer network: ``evaluate(x)`` gives the exact
  integer output codes, ``save(path)`` writes the lossless native format;
- :func:`read_vnnlib` and :func:`robustness_property` make a :class:`Property`;
- :func:`verify` decides it with the engine :class:`EngineOptions` name, within one
  time budget, and returns a :class:`Verdict` (``violated`` only with a replayed
  counterexample).
"""

from bvverify.engines.base import Verdict
from bvverify.engines.config import EngineOptions
from bvverify.engines.registry import verify
from bvverify.errors import BvverifyError
from bvverify.importers import load
from bvverify.importers.torch import from_torch
from bvverify.ir.graph import QNetwork
from bvverify.properties.robustness import robustness_property
from bvverify.properties.spec import Property
from bvverify.properties.vnnlib import read_vnnlib

__all__ = ["BvverifyError", "EngineOptions", "Property", "QNetwork", "Verdict", "from_torch", "load", "read_vnnlib",
           "robustness_property", "verify"]
__version__ = "0.1.0"
