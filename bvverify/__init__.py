"""bvverify: verify quantized neural networks as they run, bit for bit.

The public surface is small on purpose:

- :func:`from_torch` imports a converted (eager / FX) PyTorch quantized model;
- :func:`load` reads a model file (native, TorchScript, QVIP/AAAI'21 Keras h5);
- :class:`QNetwork` is the integer network: ``evaluate(x)`` gives the exact
  integer output codes, ``save(path)`` writes the lossless native format.
"""

from bvverify.errors import BvverifyError
from bvverify.importers import load
from bvverify.importers.torch import from_torch
from bvverify.ir.graph import QNetwork

__all__ = ["BvverifyError", "QNetwork", "from_torch", "load"]
__version__ = "0.1.0"
