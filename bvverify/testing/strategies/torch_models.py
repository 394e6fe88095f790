"""Hypothesis strategies that build random quantized torch models, and inputs for them.

A drawn :class:`ModelSpec` is plain data (shrinkable, printable); :func:`build_quantized`
turns it into a converted torch model for one quantized engine:

- families: ``mlp`` (Linear stacks), ``cnn`` (Conv2d / MaxPool2d / flatten / Linear head),
  ``avgpool`` (CNNs with AvgPool2d), ``add`` (FloatFunctional add / add_relu, residual or
  two-branch) and ``cat`` (FloatFunctional cat of two branches, or of a branch and its input);
- ReLU fused (``fuse_modules`` / FX auto-fusion), unfused (a quantized ``aten::relu``) or absent;
- qconfigs from observers: the engine's default, MinMax / MovingAverage / Histogram activations
  with ``reduce_range`` on and off, fixed qparams whose zero point sits at 0 or 255, per-tensor /
  per-channel, symmetric / affine qint8 weights; calibration on normal, all-positive,
  all-negative or shifted data (zero points pushed to the edges);
- eager ``prepare``/``convert`` or FX ``prepare_fx``/``convert_fx``.

:func:`make_inputs` draws float inputs mixing ordinary values, saturating values (input codes 0
and 255, outputs clamped), exact ties ``(k + 1/2 - z) * s`` and ties of the torch ``fma``
quantizer (``(k + 1/2 - z) / RN(1/s)`` and its neighbouring float32 values).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bvverify.errors import InternalError

ENGINES = ("fbgemm", "x86", "qnnpack")
FAMILIES = ("mlp", "cnn", "avgpool", "add", "cat")

ACTIVATIONS = ("default", "minmax", "moving_avg", "histogram", "fixed")
WEIGHTS = ("default", "per_tensor", "per_channel", "per_tensor_affine", "per_channel_affine")
CALIBRATIONS = ("normal", "positive", "negative", "shifted")

# Configurations the importer refuses on purpose, because torch's result there was measured to differ
# from any exact model (or to be nondeterministic): a generated model hitting one is redrawn (and counted).
REFUSALS = ("int32 bias overflows", "nonzero weight zero points", "runs on oneDNN (x86 engine) and", "with a 1x1 kernel",
            "64 or more channels", "different memory formats", "qnnpack add", "(torch refuses it)")


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Stage:
    """One element of the model body. ``kind`` is linear, conv, relu, maxpool, avgpool,
    flatten, view, dropout, add or cat; ``args`` its parameters (branches of add/cat are Stages)."""

    kind: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class QConfigSpec:
    activation: str = "default"
    reduce_range: bool = False
    weight: str = "default"
    fixed_scale: float = 0.05
    fixed_zero_point: int = 128


@dataclass(frozen=True)
class ModelSpec:
    family: str
    input_shape: tuple[int, ...]
    stages: tuple[Stage, ...]
    qconfig: QConfigSpec
    calibration: str
    calib_scale: float
    fx: bool
    seed: int
    # per-stage activation overrides (eager only): stage index -> (scale, zero_point)
    overrides: tuple[tuple[int, float, int], ...] = ()

    def describe(self) -> str:
        parts = []
        for s in self.stages:
            a = ",".join(f"{k}={v}" for k, v in s.args.items() if k not in ("a", "b"))
            br = "".join(f"[{k}:{s.args[k].kind}]" for k in ("a", "b") if isinstance(s.args.get(k), Stage))
            parts.append(f"{s.kind}({a}){br}")
        q = self.qconfig
        return (f"{self.family}{' FX' if self.fx else ''} in={self.input_shape} calib={self.calibration}"
                f"x{self.calib_scale:g} act={q.activation}{'/rr' if q.reduce_range else ''}"
                f"{f'({q.fixed_scale:g},{q.fixed_zero_point})' if q.activation == 'fixed' else ''} "
                f"w={q.weight} seed={self.seed} overrides={list(self.overrides)} :: " + " -> ".join(parts))


# --------------------------------------------------------------------------- strategies


def _out(n: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False) -> int:
    span = n + 2 * p - d * (k - 1) - 1
    o = (span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


@st.composite
def linear_stage(draw: Any, n_in: int, n_out: int | None = None) -> tuple[Stage, tuple[int, ...]]:
    out = n_out if n_out is not None else draw(st.integers(1, 24))
    return Stage("linear", {"in": n_in, "out": out, "bias": draw(st.booleans() | st.just(True)),
                            "gain": draw(st.sampled_from([0.5, 1.0, 1.0, 2.0, 4.0])),
                            "bias_gain": draw(st.sampled_from([0.0, 1.0, 1.0, 5.0]))}), (out,)


@st.composite
def conv_stage(draw: Any, shape: tuple[int, int, int], c_out: int | None = None,
               same: bool = False) -> tuple[Stage, tuple[int, ...]]:
    c, h, w = shape
    for _ in range(20):
        k = draw(st.sampled_from([1, 2, 3]))
        if same:  # keep H, W (residual add): odd kernel, stride 1, padding k//2 * d
            k = draw(st.sampled_from([1, 3]))
            d = draw(st.sampled_from([1, 1, 2]))
            s, p = 1, (k // 2) * d
        else:
            s = draw(st.sampled_from([1, 1, 2]))
            d = draw(st.sampled_from([1, 1, 2]))
            p = draw(st.integers(0, k // 2 * d + (1 if k > 1 else 0)))
        oh, ow = _out(h, k, s, p, d), _out(w, k, s, p, d)
        if oh >= 1 and ow >= 1:
            break
    else:
        k, s, p, d = 1, 1, 0, 1
        oh, ow = h, w
    out = c_out if c_out is not None else draw(st.sampled_from([1, 2, 3, 4, 6, 8]))
    divs = [g for g in range(1, min(c, out) + 1) if c % g == 0 and out % g == 0]
    g = draw(st.sampled_from(divs)) if len(divs) > 1 and draw(st.booleans()) else 1
    args = {"in": c, "out": out, "k": k, "stride": s, "padding": p, "dilation": d, "groups": g,
            "bias": draw(st.booleans() | st.just(True)), "gain": draw(st.sampled_from([0.5, 1.0, 1.0, 2.0, 4.0])),
            "bias_gain": draw(st.sampled_from([0.0, 1.0, 1.0, 5.0]))}
    return Stage("conv", args), (out, oh, ow)


@st.composite
def pool_stage(draw: Any, kind: str, shape: tuple[int, int, int]) -> tuple[Stage, tuple[int, ...]] | None:
    c, h, w = shape
    for _ in range(10):
        k = draw(st.sampled_from([2, 2, 3]))
        s = draw(st.sampled_from([None, 1, 2]))
        p = draw(st.integers(0, k // 2))
        ceil = draw(st.booleans())
        d = draw(st.sampled_from([1, 1, 2])) if kind == "maxpool" else 1
        sv = s or k
        oh, ow = _out(h, k, sv, p, d, ceil), _out(w, k, sv, p, d, ceil)
        if oh >= 1 and ow >= 1 and k * d <= max(h, w) + 2 * p:
            break
    else:
        return None
    args: dict[str, Any] = {"k": k, "stride": s, "padding": p, "ceil_mode": ceil}
    if kind == "maxpool":
        args["dilation"] = d
    else:
        args["count_include_pad"] = draw(st.booleans())
        args["divisor_override"] = draw(st.sampled_from([None, None, None, 1, 3, 5]))
    return Stage(kind, args), (c, oh, ow)


def _relu_after(draw: Any, fx: bool) -> list[Stage]:
    mode = draw(st.sampled_from(["fused", "separate", "none"]))
    if mode == "none":
        return []
    return [Stage("relu", {"fuse": mode == "fused" or fx, "inplace": draw(st.booleans())})]


@st.composite
def _branch(draw: Any, shape: tuple[int, ...], n_out: int | None, same: bool) -> tuple[Stage, tuple[int, ...]]:
    if len(shape) == 1:
        return draw(linear_stage(shape[0], n_out))
    return draw(conv_stage(shape, n_out, same=same))  # type: ignore[arg-type]


@st.composite
def _block(draw: Any, kind: str, shape: tuple[int, ...]) -> tuple[Stage, tuple[int, ...]]:
    """A two-input block: add (same shapes) or cat along the feature / channel axis."""
    skip = draw(st.booleans())
    if kind == "add":
        a, sa = draw(_branch(shape, shape[0], True))
        if sa != shape:  # conv 'same' always keeps shape, linear n->n too
            skip = False
        b = None if skip else draw(_branch(shape, shape[0], True))[0]
        return Stage("add", {"a": a, "b": b, "relu": draw(st.booleans()),
                             "a_relu": draw(st.booleans())}), shape
    a, sa = draw(_branch(shape, None, True))
    if skip:
        b, sb = None, shape
    else:
        b, sb = draw(_branch(shape, None, True))
    out = (sa[0] + sb[0],) + tuple(sa[1:])
    return Stage("cat", {"a": a, "b": b, "a_relu": draw(st.booleans())}), out


@st.composite
def model_specs(draw: Any, family: str | None = None, fx: bool | None = None) -> ModelSpec:
    """A random small quantized model of one family (drawn when ``family`` is None)."""
    family = family or draw(st.sampled_from(FAMILIES))
    fx = draw(st.sampled_from([False, False, False, True])) if fx is None else fx
    stages: list[Stage] = []
    image = family != "mlp" and (family in ("cnn", "avgpool") or draw(st.booleans()))
    if image:
        c = draw(st.sampled_from([1, 3]))
        hmax = 10 if c == 1 else 8
        shape: tuple[int, ...] = (c, draw(st.integers(3, hmax)), draw(st.integers(3, hmax)))
    else:
        shape = (draw(st.integers(1, 24)),)
    input_shape = shape

    if family == "mlp":
        for _ in range(draw(st.integers(0, 2))):
            s, shape = draw(linear_stage(shape[0]))
            stages += [s] + _relu_after(draw, fx)
            if draw(st.integers(0, 5)) == 0:
                stages.append(Stage("dropout"))  # identity in eval mode
        s, shape = draw(linear_stage(shape[0]))
        stages += [s] + _relu_after(draw, fx)
    elif family in ("cnn", "avgpool"):
        n_conv = draw(st.integers(1, 2))
        pooled = False
        for i in range(n_conv):
            s, shape = draw(conv_stage(shape))  # type: ignore[arg-type]
            stages += [s] + _relu_after(draw, fx)
            want_pool = family == "avgpool" and not pooled and (i == n_conv - 1 or draw(st.booleans()))
            if want_pool or draw(st.booleans()):
                kind = "avgpool" if want_pool else draw(st.sampled_from(["maxpool", "maxpool", "avgpool"]))
                if family == "cnn":
                    kind = "maxpool"
                r = draw(pool_stage(kind, shape))  # type: ignore[arg-type]
                if r is not None:
                    stages.append(r[0])
                    shape = r[1]
                    pooled = pooled or kind == "avgpool"
        if draw(st.booleans()):
            stages.append(Stage(draw(st.sampled_from(["flatten", "flatten", "view"]))))
            shape = (int(np.prod(shape)),)
            s, shape = draw(linear_stage(shape[0]))
            stages += [s] + _relu_after(draw, fx)
    else:  # add / cat
        if draw(st.booleans()):  # a leading layer so the block input is not the model input
            s, shape = draw(_branch(shape, None, True))
            stages += [s] + _relu_after(draw, fx)
        for _ in range(draw(st.integers(1, 2))):
            s, shape = draw(_block(family, shape))
            stages.append(s)
        if draw(st.booleans()):
            if len(shape) == 3:
                stages.append(Stage("flatten"))
                shape = (int(np.prod(shape)),)
            s, shape = draw(linear_stage(shape[0]))
            stages += [s] + _relu_after(draw, fx)

    activation = draw(st.sampled_from(ACTIVATIONS))
    qc = QConfigSpec(
        activation=activation,
        reduce_range=draw(st.booleans()),
        weight=draw(st.sampled_from(WEIGHTS)),
        fixed_scale=draw(st.sampled_from([0.01, 0.02, 0.05, 0.1, 0.25])),
        fixed_zero_point=draw(st.sampled_from([0, 0, 255, 255, 128, 37])),
    )
    overrides: list[tuple[int, float, int]] = []
    idx = [i for i, s in enumerate(stages) if s.kind in ("linear", "conv")]
    if not fx and idx and draw(st.booleans()):
        # fixed output qparams on a random Linear/Conv (zero point at an edge)
        i = draw(st.sampled_from(idx))
        overrides.append((i, draw(st.sampled_from([0.02, 0.05, 0.2])), draw(st.sampled_from([0, 255]))))
    return ModelSpec(family, input_shape, tuple(stages), qc,
                     draw(st.sampled_from(CALIBRATIONS)), draw(st.sampled_from([0.5, 1.0, 3.0])),
                     fx, draw(st.integers(0, 2**31 - 1)), tuple(overrides))


# --------------------------------------------------------------------------- torch models


@contextlib.contextmanager
def quantized_engine(engine: str):
    """Run with ``torch.backends.quantized.engine`` and one thread (quantized add depends on it)."""
    import torch

    old_engine, old_threads = torch.backends.quantized.engine, torch.get_num_threads()
    torch.backends.quantized.engine = engine
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.backends.quantized.engine = old_engine
        torch.set_num_threads(old_threads)


def _torch_modules():
    import torch
    import torch.nn.functional as F  # noqa: N812
    from torch import nn
    from torch.ao.nn.quantized import FloatFunctional
    from torch.ao.quantization import DeQuantStub, QuantStub

    def make(stage: Stage, gen: torch.Generator) -> nn.Module:
        a = stage.args
        if stage.kind == "linear":
            m = nn.Linear(a["in"], a["out"], bias=a["bias"])
        elif stage.kind == "conv":
            m = nn.Conv2d(a["in"], a["out"], a["k"], stride=a["stride"], padding=a["padding"],
                          dilation=a["dilation"], groups=a["groups"], bias=a["bias"])
        elif stage.kind == "relu":
            return nn.ReLU(inplace=bool(a.get("inplace")))
        elif stage.kind == "dropout":
            return nn.Dropout(0.25)
        elif stage.kind == "maxpool":
            return nn.MaxPool2d(a["k"], a["stride"], a["padding"], dilation=a["dilation"], ceil_mode=a["ceil_mode"])
        elif stage.kind == "avgpool":
            return nn.AvgPool2d(a["k"], a["stride"], a["padding"], ceil_mode=a["ceil_mode"],
                                count_include_pad=a["count_include_pad"], divisor_override=a["divisor_override"])
        elif stage.kind == "flatten":
            return nn.Flatten()
        elif stage.kind == "view":
            return View()
        else:
            raise InternalError(f"unknown stage kind {stage.kind!r}")
        with torch.no_grad():
            m.weight.mul_(a["gain"])
            if m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.5 * a["bias_gain"])
        return m

    class View(nn.Module):
        def forward(self, x):
            return x.reshape(x.size(0), -1)

    class Block(nn.Module):
        def __init__(self, stage: Stage, fx: bool, gen: torch.Generator):
            super().__init__()
            self.kind, self.fx = stage.kind, fx
            self.relu = bool(stage.args.get("relu"))
            a_relu = stage.args["a_relu"]
            self.a = nn.Sequential(make(stage.args["a"], gen), *([nn.ReLU()] if a_relu else []))
            self.b = None if stage.args["b"] is None else make(stage.args["b"], gen)
            self.ff = FloatFunctional()

        def forward(self, x):
            ya = self.a(x)
            yb = x if self.b is None else self.b(x)
            if self.kind == "cat":
                return torch.cat([ya, yb], dim=1) if self.fx else self.ff.cat([ya, yb], dim=1)
            if self.fx:
                r = torch.add(ya, yb)
                return F.relu(r) if self.relu else r
            return self.ff.add_relu(ya, yb) if self.relu else self.ff.add(ya, yb)

    class Net(nn.Module):
        def __init__(self, spec: ModelSpec):
            super().__init__()
            gen = torch.Generator().manual_seed(spec.seed)
            torch.manual_seed(spec.seed)
            self.fx = spec.fx
            self.quant = QuantStub()
            self.dequant = DeQuantStub()
            self.body = nn.ModuleList(Block(s, spec.fx, gen) if s.kind in ("add", "cat") else make(s, gen)
                                      for s in spec.stages)

        def forward(self, x):
            if not self.fx:
                x = self.quant(x)
            for m in self.body:
                x = m(x)
            if not self.fx:
                x = self.dequant(x)
            return x

    return Net


def make_qconfig(q: QConfigSpec, engine: str, fixed: tuple[float, int] | None = None):
    import torch
    from torch.ao.quantization import QConfig, get_default_qconfig
    from torch.ao.quantization import observer as obs

    default = get_default_qconfig(engine)
    if fixed is not None:
        act = obs.FixedQParamsObserver.with_args(scale=fixed[0], zero_point=fixed[1], dtype=torch.quint8,
                                                 quant_min=0, quant_max=255)
    elif q.activation == "default":
        act = default.activation
    elif q.activation == "minmax":
        act = obs.MinMaxObserver.with_args(dtype=torch.quint8, reduce_range=q.reduce_range)
    elif q.activation == "moving_avg":
        act = obs.MovingAverageMinMaxObserver.with_args(dtype=torch.quint8, reduce_range=q.reduce_range)
    elif q.activation == "histogram":
        act = obs.HistogramObserver.with_args(dtype=torch.quint8, reduce_range=q.reduce_range, bins=256)
    elif q.activation == "fixed":
        act = obs.FixedQParamsObserver.with_args(scale=q.fixed_scale, zero_point=q.fixed_zero_point,
                                                 dtype=torch.quint8, quant_min=0, quant_max=255)
    else:
        raise InternalError(f"unknown activation observer {q.activation!r}")
    weight = {
        "default": default.weight,
        "per_tensor": obs.MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric),
        "per_channel": obs.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric),
        "per_tensor_affine": obs.MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_affine),
        "per_channel_affine": obs.PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                                     qscheme=torch.per_channel_affine),
    }[q.weight]
    return QConfig(activation=act, weight=weight)


def calibration_data(spec: ModelSpec, n: int = 64) -> np.ndarray:
    rng = np.random.default_rng(spec.seed % 2**32)
    shape = (n,) + spec.input_shape
    s = spec.calib_scale
    if spec.calibration == "normal":
        x = rng.normal(0, s, shape)
    elif spec.calibration == "positive":
        x = rng.uniform(0, 2 * s, shape)
    elif spec.calibration == "negative":
        x = rng.uniform(-2 * s, 0, shape)
    else:
        x = rng.normal(1.5 * s, 0.5 * s, shape)
    return x.astype(np.float32)


def _fusions(model: Any, spec: ModelSpec) -> list[list[str]]:
    out = []
    for i, s in enumerate(spec.stages):
        nxt = spec.stages[i + 1] if i + 1 < len(spec.stages) else None
        if s.kind in ("linear", "conv") and nxt is not None and nxt.kind == "relu" and nxt.args.get("fuse"):
            out.append([f"body.{i}", f"body.{i + 1}"])
        if s.kind in ("add", "cat") and s.args["a_relu"]:
            out.append([f"body.{i}.a.0", f"body.{i}.a.1"])
    return out


def build_quantized(spec: ModelSpec, engine: str):
    """(converted torch model, calibration batch) of ``spec`` for ``engine``.

    Call inside :func:`quantized_engine` (the engine must be set when converting and running).
    """
    import torch
    from torch.ao.quantization import QConfigMapping, convert, fuse_modules, prepare
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    net_cls = _torch_modules()
    model = net_cls(spec).eval()
    cal = torch.from_numpy(calibration_data(spec))
    qconfig = make_qconfig(spec.qconfig, engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec.fx:
            mapping = QConfigMapping().set_global(qconfig)
            prepared = prepare_fx(model, mapping, (cal[:1],))
            with torch.no_grad():
                prepared(cal)
            q = convert_fx(prepared)
        else:
            fusions = _fusions(model, spec)
            if fusions:
                model = fuse_modules(model, fusions)
            model.qconfig = qconfig
            for i, scale, zp in spec.overrides:
                model.body[i].qconfig = make_qconfig(spec.qconfig, engine, (scale, zp))
            prepared = prepare(model)
            with torch.no_grad():
                prepared(cal)
            q = convert(prepared)
    return q.eval(), cal


@st.composite
def built_models(draw: Any, engine: str, family: str | None = None, fx: bool | None = None):
    """(spec, converted model, calibration batch); call inside :func:`quantized_engine`."""
    spec = draw(model_specs(family, fx))
    q, cal = build_quantized(spec, engine)
    return spec, q, cal


# --------------------------------------------------------------------------- inputs


def make_inputs(rng: np.random.Generator, n: int, spec: ModelSpec, scale: float, zero_point: int) -> np.ndarray:
    """``n`` float32 inputs: per element a mix of ordinary (calibration-like), saturating,
    exact-tie and fma-tie values; a tenth of the rows all saturating, a tenth all ordinary."""
    shape = (n,) + spec.input_shape
    s = np.float32(scale)
    z = int(zero_point)
    inv = np.float32(1.0) / s
    k = rng.integers(-4, 260, size=shape).astype(np.float64)
    ordinary = calibration_like(rng, spec, shape)
    big = max(abs(float(s)) * 256.0, 1e-3)
    saturating = (rng.choice([-1.0, 1.0], size=shape) * rng.uniform(1.2, 40.0, size=shape) * big)
    tie = ((k + 0.5 - z) * np.float64(s)).astype(np.float32)
    fma_tie = ((k + 0.5 - z) / np.float64(inv)).astype(np.float32)
    ulps = rng.integers(-2, 3, size=shape)
    fma_tie = _step_ulps(fma_tie, ulps)
    grid = ((k - z) * np.float64(s)).astype(np.float32)
    choice = rng.choice(5, size=shape, p=[0.35, 0.15, 0.2, 0.2, 0.1])
    x = np.select([choice == 0, choice == 1, choice == 2, choice == 3], [ordinary, saturating, tie, fma_tie], grid)
    rows = rng.permutation(n)
    x[rows[: n // 10]] = saturating[rows[: n // 10]]
    x[rows[n // 10 : n // 5]] = ordinary[rows[n // 10 : n // 5]]
    return x.astype(np.float32)


def calibration_like(rng: np.random.Generator, spec: ModelSpec, shape: tuple[int, ...]) -> np.ndarray:
    s = spec.calib_scale
    if spec.calibration == "normal":
        return rng.normal(0, s, shape)
    if spec.calibration == "positive":
        return rng.uniform(0, 2 * s, shape)
    if spec.calibration == "negative":
        return rng.uniform(-2 * s, 0, shape)
    return rng.normal(1.5 * s, 0.5 * s, shape)


def _step_ulps(x: np.ndarray, ulps: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    for j in (1, 2):
        x = np.where(ulps >= j, np.nextafter(x, np.float32(np.inf)), x)
        x = np.where(ulps <= -j, np.nextafter(x, np.float32(-np.inf)), x)
    return x


# --------------------------------------------------------------------------- fixed models

# Inputs for :func:`saturating_linear`: the first row saturates an fbgemm pair sum without VNNI.
SAT_INPUT = np.array([[255.0, 255.0, 0.0, 0.0], [255.0, 255.0, 255.0, 255.0], [3.0, 1.0, 4.0, 1.0]], np.float32)


def saturating_linear():
    """One quantized Linear whose adjacent weights 127, 127 meet input codes 255, 255: the pair sum
    64,770 saturates to 32,767 on fbgemm without VNNI (output code 33 instead of 65)."""
    import torch
    from torch.ao.nn.quantized import Linear

    class Saturating(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = Linear(4, 2)
            w = torch.quantize_per_tensor(torch.tensor([[127.0, 127.0, 0, 0], [1.0, -2.0, 3.0, 4.0]]), 1.0, 0,
                                          torch.qint8)
            self.lin.set_weight_bias(w, None)
            self.lin.scale, self.lin.zero_point = 1000.0, 0

        def forward(self, x):
            return torch.dequantize(self.lin(torch.quantize_per_tensor(x, 1.0, 0, torch.quint8)))

    return Saturating()
