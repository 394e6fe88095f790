"""The bundled digits models and test images (scikit-learn's 8x8 digits,
trained and quantized by ``scripts/train_digits.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MODELS_DIR = Path(__file__).parent / "models"
BUNDLED = {"digits-mlp": "digits_mlp.bvq", "digits-cnn": "digits_cnn.bvq"}
IMAGES = MODELS_DIR / "digits_test.npz"


def resolve_model(name_or_path: str) -> Path:
    """A bundled model name (``digits-mlp``, ``digits-cnn``) or a path as given."""
    p = Path(name_or_path)
    if not p.exists() and name_or_path in BUNDLED:
        return MODELS_DIR / BUNDLED[name_or_path]
    return p


def test_images() -> tuple[np.ndarray, np.ndarray]:
    """(images [N, 8, 8] float32 in [0, 1], labels [N]) held out from training."""
    with np.load(IMAGES) as z:
        return z["x"].astype(np.float32), z["y"].astype(np.int64)
