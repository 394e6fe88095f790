"""Small batches of the bundled models' shipped properties (specs/), for the batch tests."""

from __future__ import annotations

from pathlib import Path

SPECS = Path(__file__).resolve().parents[2] / "specs"
MODELS = Path(__file__).resolve().parents[2] / "bvverify" / "models"


def write_csv(folder: Path, rows: list[tuple[str, str, float]]) -> Path:
    """An instances.csv in ``folder`` whose paths are relative to it (model stem, property file, timeout)."""
    path = folder / "instances.csv"
    lines = [f"{MODELS / (m + '.bvq')},{SPECS / p},{t:g}" for m, p, t in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


QUICK = [("digits_mlp", "digits_mlp_img0_eps0.01.vnnlib", 20), ("digits_mlp", "digits_mlp_img3_eps0.01.vnnlib", 20),
         ("digits_cnn", "digits_cnn_img0_eps0.01.vnnlib", 20), ("digits_cnn", "digits_cnn_img6_eps0.04.vnnlib", 20)]
