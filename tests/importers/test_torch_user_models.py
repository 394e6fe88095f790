"""torch models as users write and save them (issue 10): float pre-processing in front of the
QuantStub, ``torch.jit.script``, ``torch.save`` checkpoints and float models, module names.

Every model is built here (tiny eager PTQ MLPs, fbgemm), saved the way users save them and
loaded with :func:`bvverify.load`; what loads is compared with torch on many inputs,
including exact ties of the (folded) input quantizer.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import bvverify  # noqa: E402
from bvverify.errors import ModelFormatError, UnsupportedOpError  # noqa: E402
from bvverify.importers import torch_builders  # noqa: E402
from bvverify.importers.torch import run_module  # noqa: E402
from bvverify.importers.torch_check import RuntimeMismatchError, check_inputs, load_module  # noqa: E402
from bvverify.importers.torch_preprocess import FloatIn, Step, first_difference, fold, thresholds, torch_codes  # noqa: E402
from bvverify.ir import ops  # noqa: E402
from bvverify.runtimes.quantize import quantize  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")  # torch.ao deprecation / observer noise
ENGINE = "fbgemm"
SHAPE = (1, 4, 4)


class Mlp(nn.Module):
    """A user's MLP: ``pre`` runs on the float input before ``self.quant``."""

    def __init__(self, pre=None, branch: bool = True):
        super().__init__()
        self.pre = pre
        self.branch = branch
        self.quant = torch.ao.quantization.QuantStub()
        self.fc1 = nn.Linear(16, 8)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        x = self.quant(x)
        x = self.relu(self.fc1(x))
        return self.dequant(self.fc2(x))


class Normalised(Mlp):
    def __init__(self, mean: float, std: float):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x):
        x = (torch.flatten(x, 1) - self.mean) / self.std
        x = self.quant(x)
        x = self.relu(self.fc1(x))
        return self.dequant(self.fc2(x))


class Scaled(Mlp):
    """``x / 2`` before the QuantStub: exactly a quantizer of twice the scale."""

    def forward(self, x):
        x = torch.flatten(x, 1) / 2.0
        x = self.quant(x)
        x = self.relu(self.fc1(x))
        return self.dequant(self.fc2(x))


class PerChannel(Mlp):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.linspace(0.1, 0.4, 16))

    def forward(self, x):
        x = torch.flatten(x, 1) - self.mean
        return self.dequant(self.fc2(self.relu(self.fc1(self.quant(x)))))


class Branchy(Mlp):
    """A scripted forward with an ``if`` on a module attribute (constant at import)."""

    def forward(self, x):
        if self.branch:
            x = x.view(-1, 16)
        else:
            x = x.reshape(x.shape[0], 16)
        return self.dequant(self.fc2(self.relu(self.fc1(self.quant(x)))))


def _quantized(model: nn.Module, quant_scale: float | None = None) -> nn.Module:
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.uniform_(m.weight, -0.5, 0.5)
    model.eval()
    model.qconfig = torch.ao.quantization.get_default_qconfig(ENGINE)
    prev = torch.backends.quantized.engine
    torch.backends.quantized.engine = ENGINE
    try:
        prepared = torch.ao.quantization.prepare(model)
        prepared(torch.rand(64, *SHAPE))
        q = torch.ao.quantization.convert(prepared)
    finally:
        torch.backends.quantized.engine = prev
    if quant_scale is not None:
        q.quant = torch.ao.nn.quantized.Quantize(quant_scale, 0, torch.quint8)
    return q


def _save(model: nn.Module, path, how: str = "trace"):
    prev = torch.backends.quantized.engine
    torch.backends.quantized.engine = ENGINE
    try:
        with torch.no_grad():
            ts = torch.jit.trace(model, torch.rand(1, *SHAPE)) if how == "trace" else torch.jit.script(model)
        torch.jit.save(ts, str(path))
    finally:
        torch.backends.quantized.engine = prev
    return path


def _agrees_with_torch(net: bvverify.QNetwork, path, n: int = 3000) -> None:
    """The interpreter's output codes equal torch's on raw inputs of the user's shape."""
    x = check_inputs(net, n, seed=1)  # random codes, corners, half-code ties of the folded quantizer
    module = load_module(path, ENGINE)
    values, quantized = run_module(module, ENGINE, x.reshape((n,) + SHAPE))
    assert not quantized
    got = net.dequantize(net.evaluate(x))
    assert got.shape == values.shape
    assert np.array_equal(got, values), f"{int((got != values).sum())} outputs differ"


# -- 1. reshape / flatten in front of the QuantStub -------------------------------
@pytest.mark.parametrize("how", ["trace", "script"])
def test_reshape_before_quant_stub_loads_with_the_users_input_shape(tmp_path, how):
    path = _save(_quantized(Mlp()), tmp_path / "m.pt", how)
    net = bvverify.load(path, input_shape=SHAPE, engine=ENGINE)
    assert net.input.shape == SHAPE
    assert isinstance(net.nodes[0], ops.Reshape) and net.nodes[0].shape == (16,)
    _agrees_with_torch(net, path)


def test_reshape_before_a_linear_guesses_a_flat_input(tmp_path):
    path = _save(_quantized(Mlp()), tmp_path / "m.pt")
    net = bvverify.load(path, engine=ENGINE)  # no input shape: the first Linear's width, flat
    assert net.input.shape == (16,)
    x = check_inputs(net, 500, seed=2)
    values, _ = run_module(load_module(path, ENGINE), ENGINE, x)
    assert np.array_equal(net.dequantize(net.evaluate(x)), values)


def test_a_wrong_input_shape_is_refused_by_layer(tmp_path):
    path = _save(_quantized(Mlp()), tmp_path / "m.pt")
    with pytest.raises(ModelFormatError, match="fc1.acc.*does not fit"):
        bvverify.load(path, input_shape=(9,), engine=ENGINE)
    path = _save(_quantized(Branchy()), tmp_path / "b.pt", "script")  # x.view(-1, 16)
    with pytest.raises(UnsupportedOpError, match="reshape in .* of 9 values per sample"):
        bvverify.load(path, input_shape=(9,), engine=ENGINE)


def test_from_torch_of_an_eager_model_with_reshape():
    q = _quantized(Mlp())
    net = bvverify.from_torch(q, torch.rand(2, *SHAPE), engine=ENGINE)
    assert net.input.shape == SHAPE
    assert [n.name for n in net.nodes if isinstance(n, ops.Requantize)] == ["fc1", "fc2"]


# -- 1. constant normalisation: folded exactly, or refused saying why --------------
def test_scaling_by_two_folds_exactly(tmp_path):
    path = _save(_quantized(Scaled(), quant_scale=2.0**-7), tmp_path / "m.pt")
    net = bvverify.load(path, input_shape=SHAPE, engine=ENGINE)
    q = net.input.quantizer
    assert q is not None and np.float32(q.scale) == np.float32(2.0**-6) and q.zero_point == 0
    assert any("folded into the input quantizer" in n for n in net.meta["notes"])
    _agrees_with_torch(net, path)


def test_mean_std_normalisation_is_refused_with_the_reason(tmp_path):
    path = _save(_quantized(Normalised(0.1307, 0.3081)), tmp_path / "m.pt")
    with pytest.raises(UnsupportedOpError) as e:
        bvverify.load(path, input_shape=SHAPE, engine=ENGINE)
    msg = str(e.value)
    assert "(x - 0.1307) / 0.3081" in msg and "cannot be folded exactly" in msg
    assert "where torch gives" in msg and "Apply it to the data instead" in msg


def test_per_channel_normalisation_is_refused_by_name(tmp_path):
    path = _save(_quantized(PerChannel()), tmp_path / "m.pt")
    with pytest.raises(UnsupportedOpError, match="per-channel normalisation"):
        bvverify.load(path, input_shape=SHAPE, engine=ENGINE)


def _step(kind: str, v: float) -> Step:
    return Step(kind, torch.tensor(v, dtype=torch.float64))


@pytest.mark.parametrize("steps,scale,zp,folds", [
    ((("aten::div", 2.0),), 2.0**-7, 0, True),
    ((("aten::mul", 4.0),), 0.03, 10, True),
    ((("aten::div", 255.0),), 1 / 255, 0, False),  # RN(x / 255) moves boundaries
    ((("aten::sub", 1.0),), 0.5, 2, False),  # RN(x - 1) ties at x = 0.25 + 2^-25
    ((("aten::sub", 0.5), ("aten::div", 0.5)), 1 / 128, 128, False),
])
def test_a_fold_is_what_torch_computes_on_every_float32(steps, scale, zp, folds):
    """The fold decision is exact: where it folds, the quantizer equals torch's codes on random
    floats and every code boundary; where it refuses, some float32 input really differs."""
    pre = FloatIn((4,), (4,), tuple(_step(k, v) for k, v in steps))
    if folds:
        q = fold(pre, scale, zp, torch.quint8, 0, 255, "m")
        x = np.random.default_rng(0).standard_normal(200_000).astype(np.float32) * np.float32(scale * 300)
        assert np.array_equal(quantize(x, q.scale, q.zero_point, 0, 255, q.rule),
                              torch_codes(pre.steps, scale, zp, torch.quint8, x))
    else:
        with pytest.raises(UnsupportedOpError, match="cannot be folded exactly") as e:
            fold(pre, scale, zp, torch.quint8, 0, 255, "m")
        x = np.float32(float(str(e.value).split("at x = ")[1].split(" ")[0]))
        torch_code = int(torch_codes(pre.steps, scale, zp, torch.quint8, np.float32([x]))[0])
        assert f"where torch gives {torch_code}" in str(e.value)


def test_threshold_comparison_sees_a_one_ulp_difference():
    pre = (_step("aten::div", 2.0),)
    thr = thresholds(lambda x: torch_codes(pre, 2.0**-7, 0, torch.quint8, x), 0, 255)
    exact = first_difference(thr, lambda x: quantize(x, 2.0**-6, 0, 0, 255, "torch_fma"), 0)
    off = first_difference(thr, lambda x: quantize(x, float(np.nextafter(np.float32(2.0**-6), np.float32(1))), 0, 0, 255,
                                                   "torch_fma"), 0)
    assert exact is None and off is not None


def test_a_wrong_fold_is_caught_by_the_self_check(tmp_path, monkeypatch):
    """The import's self-check compares torch's input codes with the folded quantizer: a fold
    that is off by one scale ulp is refused, not imported."""
    path = _save(_quantized(Scaled(), quant_scale=2.0**-7), tmp_path / "m.pt")

    def bad_fold(*args, **kw):
        q = fold(*args, **kw)
        return ops.InputQuantizer(float(np.nextafter(np.float32(q.scale), np.float32(1))), q.zero_point, q.rule)

    monkeypatch.setattr(torch_builders, "fold", bad_fold)
    with pytest.raises(RuntimeMismatchError, match="quantize_per_tensor"):
        bvverify.load(path, input_shape=SHAPE, engine=ENGINE)


# -- 2. torch.jit.script (the static quantization tutorial's path) -----------------
def test_scripted_model_with_a_constant_branch_loads(tmp_path):
    path = _save(_quantized(Branchy()), tmp_path / "m.pt", "script")
    net = bvverify.load(path, input_shape=SHAPE, engine=ENGINE)
    assert [n.name for n in net.nodes if isinstance(n, ops.Requantize)] == ["fc1", "fc2"]
    _agrees_with_torch(net, path)


class Residual(nn.Module):
    """The static quantization tutorial's block: an ``if`` on a module flag, a FloatFunctional add."""

    def __init__(self, use_res: bool):
        super().__init__()
        self.use_res = use_res
        self.conv = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
        self.skip_add = torch.ao.nn.quantized.FloatFunctional()

    def forward(self, x):
        if self.use_res:
            return self.skip_add.add(x, self.conv(x))
        return self.conv(x)


class TutorialNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.stem = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(Residual(True), Residual(False))
        self.fc = nn.Linear(4 * 16, 3)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.blocks(self.stem(self.quant(x)))
        x = x.reshape(x.shape[0], -1)
        return self.dequant(self.fc(x))


def test_scripted_tutorial_style_convnet_loads_and_agrees(tmp_path):
    model = TutorialNet().eval()
    for name in ("stem", "blocks.0.conv", "blocks.1.conv"):
        parts = ["0", "1"] if name == "stem" else ["0", "1", "2"]
        torch.ao.quantization.fuse_modules(model, [[f"{name}.{p}" for p in parts]], inplace=True)
    q = _quantized(model)
    path = _save(q, tmp_path / "m.pt", "script")
    net = bvverify.load(path, input_shape=SHAPE, engine=ENGINE)
    assert any(isinstance(n, ops.Add) for n in net.nodes)
    names = [n.name for n in net.nodes]
    assert {"stem.0", "blocks.0.conv.0", "blocks.1.conv.0", "fc"} <= set(names), names
    assert not any("<top level>" in n for n in names)
    _agrees_with_torch(net, path, n=300)  # one sample per torch call (the add's scalar tail): keep it small


# -- 3. what the file is ------------------------------------------------------------
def test_torch_save_state_dict_is_named_as_such(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save(_quantized(Mlp()).state_dict(), path)
    with pytest.raises(ModelFormatError, match=r"torch.save checkpoint, a state_dict .*quantized.*torch.jit.save"):
        bvverify.load(path)


def test_torch_save_of_a_whole_model_is_named_as_such(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(_quantized(Mlp()), path)
    with pytest.raises(ModelFormatError, match=r"torch.save checkpoint, a pickled nn.Module \(torch.save\(model\)\) of "
                       r"quantized layers: .*Linear.*already.*torch.jit.trace"):
        bvverify.load(path)


@pytest.mark.parametrize("how", ["trace", "script"])
def test_float_torchscript_is_named_and_says_how_to_quantize(tmp_path, how):
    path = _save(Mlp().eval(), tmp_path / "float.pt", how)
    with pytest.raises(UnsupportedOpError, match=r"float \(not quantized\) model.*convert.*torch.jit.save"):
        bvverify.load(path, input_shape=SHAPE)


# -- 4. module names, not <top level> -----------------------------------------------
@pytest.mark.parametrize("how", ["trace", "script"])
def test_saved_models_name_layers_by_module(tmp_path, how):
    path = _save(_quantized(Mlp()), tmp_path / "m.pt", how)
    net = bvverify.load(path, input_shape=SHAPE, engine=ENGINE)
    names = [n.name for n in net.nodes]
    assert names == ["input.reshape", "fc1.acc", "fc1", "relu", "fc2.acc", "fc2"], names
    assert not any("<top level>" in str(p) for p in net.meta["torch_probes"] if "quantized::linear" in str(p))


# -- the model: a torch PTQ mnistfc whose forward starts with a reshape --------
BENCH = Path(os.environ.get("BVVERIFY_BENCHMARKS") or Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks")
MNISTFC = BENCH / "vnncomp2021_mnistfc" / "mnist-net_256x2.onnx"
MNIST_CSV = BENCH / "eran" / "mnist_test.csv"


class MnistFc(nn.Module):
    def __init__(self, weights, normalise: bool = False):
        super().__init__()
        self.normalise = normalise
        self.quant, self.dequant = torch.ao.quantization.QuantStub(), torch.ao.quantization.DeQuantStub()
        self.fc1, self.fc2, self.fc3 = (nn.Linear(w.shape[1], w.shape[0]) for w, _ in weights)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()
        for fc, (w, b) in zip((self.fc1, self.fc2, self.fc3), weights):
            fc.weight.data, fc.bias.data = torch.from_numpy(w.copy()), torch.from_numpy(b.copy())

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        if self.normalise:
            x = (x - 0.1307) / 0.3081
        x = self.quant(x)
        x = self.relu2(self.fc2(self.relu1(self.fc1(x))))
        return self.dequant(self.fc3(x))


@pytest.mark.parametrize("normalise", [False, True])
def test_mnistfc_ptq_with_reshape_first(tmp_path, normalise):
    if not (MNISTFC.exists() and MNIST_CSV.exists()):
        pytest.skip(f"benchmark data absent ({BENCH})")
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(MNISTFC)).graph.initializer}
    weights = [(inits[f"layers.{i}.weight"], inits[f"layers.{i}.bias"]) for i in (0, 2, 4)]
    data = np.loadtxt(MNIST_CSV, delimiter=",", max_rows=200)
    x = (data[:, 1:] / 255).astype(np.float32).reshape(-1, 784, 1)  # the ONNX model's input [N, 784, 1]
    model = MnistFc(weights, normalise).eval()
    model.qconfig = torch.ao.quantization.get_default_qconfig(ENGINE)
    prepared = torch.ao.quantization.prepare(model)
    prepared(torch.from_numpy(x))
    path = tmp_path / "mnistfc.pt"
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(torch.ao.quantization.convert(prepared), torch.from_numpy(x[:1])), str(path))
    if normalise:
        with pytest.raises(UnsupportedOpError, match=r"\(x - 0.1307\) / 0.3081 .*cannot be folded exactly"):
            bvverify.load(path, input_shape=(784, 1), engine=ENGINE)
        return
    net = bvverify.load(path, input_shape=(784, 1), engine=ENGINE)  # the import's self-check ran
    assert [n.name for n in net.nodes if isinstance(n, ops.Requantize)] == ["fc1", "fc2", "fc3"]
    values, _ = run_module(load_module(path, ENGINE), ENGINE, x)
    assert np.array_equal(net.dequantize(net.evaluate(x)), values)
