"""Train and quantize the bundled digits models (scikit-learn's 8x8 digits, no download).

Writes bvverify/models/digits_mlp.bvq, digits_cnn.bvq (native files imported from
the converted torch models on the fbgemm engine), digits_mlp.pt, digits_cnn.pt
(TorchScript of the same converted models, for comparisons against torch) and
digits_test.npz (a few held-out test images), and prints float and quantized test
accuracy.

    python scripts/train_digits.py [--engine fbgemm] [--epochs 60] [--n-images 20]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.ao.quantization as tq
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import bvverify

OUT = Path(__file__).resolve().parents[1] / "bvverify" / "models"


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant = tq.QuantStub()
        self.fc1 = nn.Linear(64, 32)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(32, 16)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(16, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.quant(x)
        x = self.relu2(self.fc2(self.relu1(self.fc1(x))))
        return self.dequant(self.fc3(x))

    fuse = [["fc1", "relu1"], ["fc2", "relu2"]]


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 8, 3)
        self.relu2 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8 * 2 * 2, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.quant(x)
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.relu2(self.conv2(x))
        return self.dequant(self.fc(self.flatten(x)))

    fuse = [["conv1", "relu1"], ["conv2", "relu2"]]


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> None:
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()


def quantize(model: nn.Module, calib: torch.Tensor, engine: str) -> nn.Module:
    torch.backends.quantized.engine = engine
    model.eval()
    model.qconfig = tq.get_default_qconfig(engine)
    tq.fuse_modules(model, model.fuse, inplace=True)
    tq.prepare(model, inplace=True)
    with torch.no_grad():
        model(calib)
    tq.convert(model, inplace=True)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", default="fbgemm", choices=["fbgemm", "x86", "qnnpack"])
    ap.add_argument("--target", default="avx512-vnni", help="deployment CPU the native models are imported for "
                    "(the bundled ones: avx512-vnni); the torch comparison below is only meaningful on such a host")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--n-images", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, digits.target, test_size=0.3, random_state=args.seed,
                                              stratify=digits.target)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr).long()
    xe = torch.from_numpy(x_te)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for name, cls in (("digits_mlp", MLP), ("digits_cnn", CNN)):
        torch.manual_seed(args.seed)  # initial weights too: rebuilding gives the same files
        model = cls()
        shape = (64,) if cls is MLP else (1, 8, 8)
        xt_s, xe_s = xt.reshape((-1,) + shape), xe.reshape((-1,) + shape)
        train(model, xt_s, yt, args.epochs, args.seed)
        model.eval()
        with torch.no_grad():
            float_acc = float((model(xe_s).argmax(1).numpy() == y_te).mean())
        quantize(model, xt_s, args.engine)
        with torch.no_grad():
            q_out = model(xe_s).numpy()
        q_acc = float((q_out.argmax(1) == y_te).mean())
        net = bvverify.from_torch(model, xe_s[:1], engine=args.engine, target=args.target)
        ref = net.dequantize(net.evaluate(x_te.reshape((-1,) + shape)))
        mismatches = int(np.sum(ref != q_out))
        bv_acc = float((np.argmax(net.evaluate(x_te.reshape((-1,) + shape)), 1) == y_te).mean())
        net = type(net)(net.input, net.nodes, net.output,
                        {**net.meta, "source": f"scripts/train_digits.py ({name}, {args.engine})",
                         "float_test_accuracy": float_acc, "quantized_test_accuracy": q_acc})
        net.save(args.out / f"{name}.bvq")
        torch.jit.save(torch.jit.trace(model, xe_s[:1]), str(args.out / f"{name}.pt"))
        report[name] = {"float_acc": float_acc, "quant_acc_torch": q_acc, "quant_acc_bvverify": bv_acc,
                        "test_images": len(y_te), "interp_vs_torch_mismatches": mismatches}
        print(f"{name}: float test accuracy {float_acc:.4f}, quantized ({args.engine}) {q_acc:.4f}, "
              f"bvverify interpreter {bv_acc:.4f}, {mismatches} output mismatches vs torch on {q_out.size} outputs")
    np.savez_compressed(args.out / "digits_test.npz", x=x_te[: args.n_images], y=y_te[: args.n_images].astype(np.int64))
    (args.out / "digits_report.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
