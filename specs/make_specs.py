"""Write the robustness properties of ``specs/instances.csv`` as VNN-LIB 1 files (deterministic).

Each file is an L-infinity ball of radius ``eps`` (the model's [0, 1] pixel units, clipped to
[0, 1]) around a bundled test image, violated iff another output reaches the label's dequantized
output under the lowest-index tie rule (``j < label``: ``Y_j >= Y_label``; ``j > label``: ``Y_j > Y_label``),
the same form as ``digits_mlp_img0_eps0.01.vnnlib``. Run: ``python specs/make_specs.py``.
"""

from __future__ import annotations

from pathlib import Path

from bvverify.bundled import test_images

HERE = Path(__file__).parent
# (model, image, eps): a mix of proofs, counterexamples and queries that run out their time
QUERIES = [("digits_mlp", 1, 0.01), ("digits_mlp", 3, 0.01), ("digits_mlp", 2, 0.06), ("digits_mlp", 5, 0.06),
           ("digits_mlp", 1, 0.08), ("digits_cnn", 0, 0.01), ("digits_cnn", 1, 0.04), ("digits_cnn", 3, 0.04),
           ("digits_cnn", 6, 0.04), ("digits_cnn", 3, 0.06),
           ("digits_cnn", 5, 0.08)]


def robustness_vnnlib(model: str, index: int, eps: float) -> str:
    xs, ys = test_images()
    x, label = xs[index].ravel(), int(ys[index])
    lines = [f"; bundled {model.replace('_', '-')}, test image {index} (label {label}), L-inf eps {eps:g} in [0,1] pixel units",
             "; violated iff some other output reaches the label's (lowest index wins ties on dequantized outputs)"]
    lines += [f"(declare-const X_{i} Real)" for i in range(x.size)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(10)]
    for i, v in enumerate(x):
        lines += [f"(assert (>= X_{i} {max(0.0, float(v) - eps):.6f}))", f"(assert (<= X_{i} {min(1.0, float(v) + eps):.6f}))"]
    clauses = [f"(and ({'>=' if j < label else '>'} Y_{j} Y_{label}))" for j in range(10) if j != label]
    lines.append(f"(assert (or {' '.join(clauses)}))")
    return "\n".join(lines) + "\n"


def main() -> None:
    for model, index, eps in QUERIES:
        (HERE / f"{model}_img{index}_eps{eps:g}.vnnlib").write_text(robustness_vnnlib(model, index, eps))


if __name__ == "__main__":
    main()
