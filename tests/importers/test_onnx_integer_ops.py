"""Static ``MatMulInteger`` / ``ConvInteger`` (codes of a static QuantizeLinear, constant weights and zero
points) followed by the float ops onnxruntime runs on the int32 result, ``Cast -> Mul -> [Add] -> [Relu |
Clip] -> QuantizeLinear``: the chain alone on every kind of accumulator, random models code for code
against onnxruntime (box corners and saturating inputs included), verify against enumeration with an
onnxruntime replay, and the refusals by name (dynamic quantization stays refused)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.importers.test_onnx_models import float_mlp, verify_matches_enumeration

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from bvverify.errors import UnsupportedOpError  # noqa: E402
from bvverify.importers import load  # noqa: E402
from bvverify.importers.onnx_runtime import onnx_runtime  # noqa: E402
from bvverify.importers.onnx_target import ort_target  # noqa: E402
from bvverify.ir import ops  # noqa: E402
from bvverify.runtimes.base import get_profile  # noqa: E402

try:
    ort_target()
except UnsupportedOpError as e:  # pragma: no cover - only on CPUs without VNNI / AMX
    pytest.skip(str(e), allow_module_level=True)

F32 = np.float32
_DT = {"u8": np.uint8, "s8": np.int8}
_TP = {"u8": TensorProto.UINT8, "s8": TensorProto.INT8}


def _model(nodes: list, inits: list, x_shape: list, path: Path, x_type: int = TensorProto.FLOAT,
           y: str = "y", y_type: int = TensorProto.FLOAT, opset: int = 13) -> Path:
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", x_type, x_shape)],
                          [helper.make_tensor_value_info(y, y_type, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


# ---- the float chain alone, on int32 accumulators ---------------------------------------------


def _chain_session(mul: np.ndarray, bias: np.ndarray, clamp: str, ys: float, yz: int, act: str,
                   clip: tuple[F32, F32]):
    c = mul.size
    inits = [numpy_helper.from_array(mul, "mul"), numpy_helper.from_array(bias, "b"),
             numpy_helper.from_array(np.array(ys, F32), "ys"), numpy_helper.from_array(np.array(yz, _DT[act]), "yz"),
             numpy_helper.from_array(np.array(clip[0], F32), "lo"), numpy_helper.from_array(np.array(clip[1], F32), "hi")]
    nodes = [helper.make_node("Cast", ["x"], ["f"], to=TensorProto.FLOAT), helper.make_node("Mul", ["f", "mul"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["a"])]
    last = "a"
    if clamp == "relu":
        nodes.append(helper.make_node("Relu", ["a"], ["r"]))
        last = "r"
    elif clamp == "clip":
        nodes.append(helper.make_node("Clip", ["a", "lo", "hi"], ["r"]))
        last = "r"
    nodes.append(helper.make_node("QuantizeLinear", [last, "ys", "yz"], ["y"]))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.INT32, [None, c])],
                          [helper.make_tensor_value_info("y", _TP[act], [None, c])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("act", ["u8", "s8"])
@pytest.mark.parametrize("clamp", ["none", "relu", "clip"])
def test_the_chain_matches_onnxruntime_on_every_kind_of_accumulator(act: str, clamp: str) -> None:
    """Random scales (dense sweeps over every output step) and power-of-two ones (exact ties), plus
    accumulators over the whole int32 range (float32(acc) rounds past 2^24)."""
    rng = np.random.default_rng(len(clamp) + 10 * len(act))
    lo, hi = (0, 255) if act == "u8" else (-128, 127)
    prof = get_profile("onnxruntime_integer")
    bad = total = 0
    cases = [(rng.uniform(1e-5, 1e-3, 4).astype(F32), rng.normal(0, 1, 4).astype(F32), F32(rng.uniform(0.005, 0.05)))
             for _ in range(3)]
    cases += [(np.full(4, F32(0.5)), np.array([0, 0.25, -0.5, 1.5], F32), F32(1.0)),
              (np.full(4, F32(0.125)), np.array([0, 0.5, -0.25, 0.75], F32), F32(0.25))]
    for mul, bias, ys in cases:
        yz = int(rng.integers(lo, hi + 1))
        span = int((hi - lo) * ys / mul.min()) + 64
        accs = np.concatenate([np.repeat(np.arange(-span, span + 1)[:, None], 4, axis=1),
                               rng.integers(-(2**31), 2**31, (4000, 4)),
                               np.array([[-(2**31), 2**31 - 1, 0, 2**24 + 1]])]).astype(np.int32)
        clip = (F32(-20.3 * ys), F32(50.5 * ys))  # off the code grid and on it (ties at .5)
        got = _chain_session(mul, bias, clamp, float(ys), yz, act, clip).run(None, {"x": accs})[0].astype(np.int64)
        params = {"mul": mul, "bias": bias, "clip_lo": clip[0] if clamp == "clip" else F32(0 if clamp == "relu" else -np.inf),
                  "clip_hi": clip[1] if clamp == "clip" else F32(np.inf), "s_out": ys, "z_out": np.int64(yz)}
        prof.check(params)
        want = np.clip(prof.apply(accs.astype(np.int64), params), lo, hi)
        assert np.unique(want).size > 20  # the sweep crosses many output steps
        bad += int((got != want).sum())
        total += got.size
    assert bad == 0, f"{bad} of {total} codes differ"


# ---- random models ----------------------------------------------------------------------------


class _Builder:
    """A static integer model: QuantizeLinear -> [ConvInteger chain -> Flatten] -> MatMulInteger chain(s)
    -> QuantizeLinear -> DequantizeLinear, every constant random."""

    def __init__(self, rng: np.random.Generator, act: str, wt: str, form: str) -> None:
        self.rng, self.act, self.wt, self.form = rng, act, wt, form
        self.nodes: list = []
        self.inits: list = []
        self.k = 0

    def const(self, name: str, v: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(v), name))
        return name

    def zp(self) -> int:
        return int(self.rng.integers(100, 156)) if self.act == "u8" else int(self.rng.integers(-20, 21))

    def quantize(self, x: str, scale: float, zp: int) -> str:
        self.k += 1
        out = f"q{self.k}"
        self.nodes.append(helper.make_node("QuantizeLinear", [x, self.const(f"s{self.k}", np.array(scale, F32)),
                                                              self.const(f"z{self.k}", np.array(zp, _DT[self.act]))],
                                           [out], name=f"quant{self.k}"))
        return out

    def weights(self, shape: tuple[int, ...]) -> np.ndarray:
        lo, hi = (-128, 127) if self.wt == "s8" else (0, 255)
        return self.rng.integers(lo, hi + 1, shape).astype(_DT[self.wt])

    def wzero(self, n: int | None) -> np.ndarray:
        centre = 0 if self.wt == "s8" else 128
        size = () if n is None else (n,)
        return (centre + self.rng.integers(-4, 5, size)).astype(_DT[self.wt])

    def chain(self, acc: str, c: int, shape_of: tuple[int, ...], scale_in: float, fan_in: int, relu: bool) -> tuple[str, float]:
        """Cast -> Mul -> [Add] -> [Relu | Clip] -> QuantizeLinear, the output scale fitted to the layer."""
        i = self.k = self.k + 1
        ws = self.rng.uniform(0.005, 0.02, c).astype(F32)
        per = self.form == "channel"
        mul = (F32(scale_in) * ws).astype(F32) if per else np.array(F32(scale_in) * ws[0], F32)
        typical = float(np.mean(mul)) * np.sqrt(fan_in) * 30 * 74
        ys = F32(typical / 40)
        self.nodes.append(helper.make_node("Cast", [acc], [f"f{i}"], to=TensorProto.FLOAT, name=f"cast{i}"))
        self.nodes.append(helper.make_node("Mul", [f"f{i}", self.const(f"mul{i}", mul.reshape(shape_of) if per else mul)],
                                           [f"m{i}"], name=f"scale{i}"))
        last = f"m{i}"
        if self.rng.random() < 0.75:
            b = (self.rng.normal(0, 2, c) * ys).astype(F32)
            self.nodes.append(helper.make_node("Add", [last, self.const(f"b{i}", b.reshape(shape_of) if per else
                                                                         np.array(b[0]))], [f"a{i}"], name=f"bias{i}"))
            last = f"a{i}"
        if relu:
            if self.rng.random() < 0.5:
                self.nodes.append(helper.make_node("Relu", [last], [f"r{i}"], name=f"relu{i}"))
            else:
                self.nodes.append(helper.make_node("Clip", [last, self.const(f"clo{i}", np.array(0, F32)),
                                                            self.const(f"chi{i}", np.array(60 * ys, F32))],
                                                   [f"r{i}"], name=f"clip{i}"))
            last = f"r{i}"
        return self.quantize(last, float(ys), self.zp()), float(ys)

    def matmul(self, xq: str, xz: int, scale_in: float, k: int, n: int, relu: bool) -> tuple[str, float]:
        i = self.k = self.k + 1
        a_zp = xz if self.rng.random() < 0.8 else int(np.clip(xz + self.rng.integers(-3, 4), *((0, 255) if self.act == "u8"
                                                                                               else (-128, 127))))
        wz = self.wzero(n if self.form == "channel" else None)
        self.nodes.append(helper.make_node(
            "MatMulInteger", [xq, self.const(f"w{i}", self.weights((k, n))), self.const(f"az{i}", np.array(a_zp, _DT[self.act])),
                              self.const(f"wz{i}", wz)], [f"acc{i}"], name=f"mmi{i}"))
        return self.chain(f"acc{i}", n, (n,), scale_in, k, relu)

    def conv(self, xq: str, xz: int, scale_in: float, c: int, m: int, g: int, k: int, stride: int, pad: int,
             dil: int) -> tuple[str, float]:
        i = self.k = self.k + 1
        self.nodes.append(helper.make_node(
            "ConvInteger", [xq, self.const(f"w{i}", self.weights((m, c // g, k, k))),
                            self.const(f"xz{i}", np.array(xz, _DT[self.act])), self.const(f"wz{i}", self.wzero(None))],
            [f"acc{i}"], name=f"convi{i}",
            strides=[stride, stride], pads=[pad] * 4, dilations=[dil, dil], group=g))
        return self.chain(f"acc{i}", m, (1, m, 1, 1), scale_in, c // g * k * k, True)

    def output(self, q: str, scale: float) -> None:
        z = [n for n in self.nodes if n.output[0] == q][0].input[2]
        self.nodes.append(helper.make_node("DequantizeLinear", [q, f"s{self.k}", z], ["y"], name="dequant"))


def integer_model(path: Path, kind: str, act: str, wt: str, form: str, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    b = _Builder(rng, act, wt, form)
    xs, xz = 0.05, b.zp()
    xq = b.quantize("x", xs, xz)
    if kind == "mlp":
        k, h, n = int(rng.integers(4, 9)), int(rng.integers(3, 7)), int(rng.integers(2, 5))
        shape = [1, k]
        q, s = b.matmul(xq, xz, xs, k, h, True)
        zq = int(numpy_helper.to_array([i for i in b.inits if i.name == f"z{b.k}"][0]))
        q, s = b.matmul(q, zq, s, h, n, False)
    else:
        c, g = 4, int(rng.choice([1, 2]))
        m, ksz, stride, pad, dil = 2 * int(rng.integers(1, 3)), int(rng.choice([1, 2, 3])), int(rng.integers(1, 3)), \
            int(rng.integers(0, 2)), int(rng.integers(1, 3))
        shape = [1, c, 6, 6]
        q, s = b.conv(xq, xz, xs, c, m, g, ksz, stride, pad, dil)
        zq = int(numpy_helper.to_array([i for i in b.inits if i.name == f"z{b.k}"][0]))
        b.nodes.append(helper.make_node("Flatten", [q], ["flat"], axis=1, name="flatten"))
        oh = (6 + 2 * pad - dil * (ksz - 1) - 1) // stride + 1
        q, s = b.matmul("flat", zq, s, m * oh * oh, 3, False)
    b.output(q, s)
    return _model(b.nodes, b.inits, shape, path)


def probe(rng: np.random.Generator, shape: tuple[int, ...], n: int) -> np.ndarray:
    """Normal inputs, large ones that saturate the layers, and box corners (every input code at its type's
    lowest or highest)."""
    x = rng.normal(0, 1, (n, *shape)).astype(F32)
    x[: n // 4] *= 6
    corners = F32(1e6) * np.sign(rng.normal(size=(24, *shape))).astype(F32)
    corners[0], corners[1] = F32(1e6), F32(-1e6)
    return np.concatenate([x, corners])


def _compare(path: Path, seed: int, n: int = 200) -> tuple[int, int, int]:
    net = load(path)
    assert any(isinstance(nd, ops.Requantize) and nd.profile == "onnxruntime_integer" for nd in net.nodes)
    x = probe(np.random.default_rng(seed), net.input.shape, n)
    ours, theirs = net.evaluate(x), onnx_runtime(path, net)(x)
    return int((ours != theirs).sum()), ours.size, int(np.unique(theirs).size)


@pytest.mark.parametrize("form", ["tensor", "channel"])
@pytest.mark.parametrize("wt", ["s8", "u8"])
@pytest.mark.parametrize("act", ["u8", "s8"])
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_random_integer_models_match_onnxruntime(tmp_path: Path, kind: str, act: str, wt: str, form: str) -> None:
    for seed in range(2):
        p = integer_model(tmp_path / f"m{seed}.onnx", kind, act, wt, form, seed=hash((kind, act, wt, form, seed)) % 2**31)
        bad, total, distinct = _compare(p, seed)
        assert distinct >= 4, "the model's outputs should vary"
        assert bad == 0, f"{kind} {act} x {wt} ({form}), seed {seed}: {bad} of {total} codes differ"


def test_opset_10_clip_attributes_match_onnxruntime(tmp_path: Path) -> None:
    """Clip before opset 11 takes min / max as attributes, not inputs."""
    rng = np.random.default_rng(8)
    inits = [numpy_helper.from_array(np.array(0.05, F32), "s"), numpy_helper.from_array(np.array(128, np.uint8), "z"),
             numpy_helper.from_array(rng.integers(-128, 128, (6, 4)).astype(np.int8), "w"),
             numpy_helper.from_array(np.array(4e-4, F32), "c"), numpy_helper.from_array(np.array(0.01, F32), "ys"),
             numpy_helper.from_array(np.array(10, np.uint8), "yz")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("MatMulInteger", ["q", "w", "z"], ["acc"], name="mmi"),
             helper.make_node("Cast", ["acc"], ["f"], to=TensorProto.FLOAT, name="cast"),
             helper.make_node("Mul", ["f", "c"], ["m"], name="scale"),
             helper.make_node("Clip", ["m"], ["r"], min=-0.05, max=0.8, name="clip"),
             helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["yq"], name="requant"),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], name="dequant")]
    p = _model(nodes, inits, [1, 6], tmp_path / "m.onnx", opset=10)
    net = load(p)
    x = probe(rng, net.input.shape, 300)
    ours, theirs = net.evaluate(x), onnx_runtime(p, net)(x)
    assert theirs.min() == 5 and theirs.max() == 90  # both clip bounds reached: 10 + (-0.05, 0.8) / 0.01
    assert int((ours != theirs).sum()) == 0


def test_the_optimizer_keeps_the_chain_with_constant_scales(tmp_path: Path) -> None:
    """Measured on onnxruntime 1.32: MatMulIntegerToFloat fusion needs the scale from a Mul node; a
    constant product of constants is folded first, so the imported graph is the chain as written."""
    from bvverify.importers.onnx_model import optimized

    p = integer_model(tmp_path / "m.onnx", "mlp", "u8", "s8", "channel", seed=3)
    kinds = [n.op_type for n in optimized(p).graph.node]
    assert "MatMulIntegerToFloat" not in kinds and kinds.count("MatMulInteger") == 2 and "Cast" in kinds


# ---- verify --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_verify_agrees_with_enumeration_and_replays(tmp_path: Path, kind: str) -> None:

    rng = np.random.default_rng(5)
    if kind == "mlp":
        b = _Builder(rng, "s8", "s8", "channel")
        xq = b.quantize("x", 0.05, 3)
        q, s = b.matmul(xq, 3, 0.05, 6, 3, False)
        shape = [1, 6]
    else:  # a padded ConvInteger (pads hold x_zero_point) -> Relu chain -> Flatten -> MatMulInteger
        b = _Builder(rng, "u8", "u8", "tensor")
        xq = b.quantize("x", 0.05, 120)
        q, s = b.conv(xq, 120, 0.05, 2, 2, 1, 3, 1, 1, 1)
        b.nodes.append(helper.make_node("Flatten", [q], ["flat"], axis=1, name="flatten"))
        zq = int(numpy_helper.to_array([i for i in b.inits if i.name == f"z{b.k}"][0]))
        q, s = b.matmul("flat", zq, s, 2 * 3 * 3, 3, False)
        shape = [1, 2, 3, 3]
    b.output(q, s)
    p = _model(b.nodes, b.inits, shape, tmp_path / "m.onnx")
    net = load(p)
    run = onnx_runtime(p, net)
    c0 = net.quantize_input(rng.normal(0, 1, (1, *shape[1:])).astype(F32))[0].ravel()
    clo, chi = c0.copy(), c0.copy()
    free = [int(i) for i in rng.choice(c0.size, 4, replace=False)]
    clo[free] = np.maximum(c0[free] - 3, net.input.lo)
    chi[free] = np.minimum(c0[free] + 3, net.input.hi)
    clo, chi = clo.reshape(net.input.shape), chi.reshape(net.input.shape)
    statuses = verify_matches_enumeration(net, run, clo, chi, ((0, 1), (1, 2), (2, 0)))
    assert statuses == {"holds", "violated"}


# ---- refusals ------------------------------------------------------------------------------------


def _qp(act: str = "u8") -> list:
    return [numpy_helper.from_array(np.array(0.05, F32), "s"), numpy_helper.from_array(np.array(128 if act == "u8" else 0,
                                                                                                _DT[act]), "z"),
            numpy_helper.from_array(np.array(0.1, F32), "ys"), numpy_helper.from_array(np.array(0, np.uint8), "yz"),
            numpy_helper.from_array(np.ones((4, 3), np.int8), "w"), numpy_helper.from_array(np.array(0.01, F32), "c")]


def _mlp(tmp_path: Path, middle: list, inits: list | None = None, last: str = "v") -> Path:
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("MatMulInteger", ["q", "w", "z"], ["acc"], name="mmi"),
             helper.make_node("Cast", ["acc"], ["f"], to=TensorProto.FLOAT, name="cast"), *middle,
             helper.make_node("QuantizeLinear", [last, "ys", "yz"], ["yq"], name="requant"),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], name="dequant")]
    return _model(nodes, _qp() + (inits or []), [1, 4], tmp_path / "m.onnx")


def test_dynamic_quantization_stays_refused_by_name(tmp_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src = float_mlp(tmp_path / "f.onnx", [5, 4, 3], seed=0)
    quantize_dynamic(str(src), str(tmp_path / "d.onnx"), weight_type=QuantType.QInt8)
    assert "DynamicQuantizeLinear" in {n.op_type for n in onnx.load(str(tmp_path / "d.onnx")).graph.node}
    with pytest.raises(UnsupportedOpError, match=r"DynamicQuantizeLinear \(node .+\): not supported: dynamic "
                                                 r"quantization computes its scales at run time; quantize statically"):
        load(tmp_path / "d.onnx")


def test_fused_float_output_kernels_refused_by_name(tmp_path: Path) -> None:
    inits = _qp() + [numpy_helper.from_array(np.array(0.01, F32), "ws")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("MatMulIntegerToFloat", ["q", "w", "s", "ws", "z"], ["f"], domain="com.microsoft", name="mitf"),
             helper.make_node("QuantizeLinear", ["f", "ys", "yz"], ["yq"], name="requant"),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], name="dequant")]
    with pytest.raises(UnsupportedOpError, match=r"MatMulIntegerToFloat \(node mitf\): not supported: .*dynamic"):
        load(_model(nodes, inits, [1, 4], tmp_path / "m.onnx"))


def test_chain_out_of_order_refused_by_name(tmp_path: Path) -> None:
    middle = [helper.make_node("Mul", ["f", "c"], ["m"], name="scale"), helper.make_node("Relu", ["m"], ["r"], name="relu"),
              helper.make_node("Add", ["r", "b"], ["v"], name="late_bias")]
    with pytest.raises(UnsupportedOpError, match=r"Add \(node late_bias\): Add after Relu / Clip .*in that order"):
        load(_mlp(tmp_path, middle, [numpy_helper.from_array(np.ones(3, F32), "b")]))


def test_negative_scale_refused_by_name(tmp_path: Path) -> None:
    middle = [helper.make_node("Mul", ["f", "neg"], ["v"], name="scale")]
    with pytest.raises(UnsupportedOpError, match=r"Mul \(node scale\): scale -0.01.*decreasing"):
        load(_mlp(tmp_path, middle, [numpy_helper.from_array(np.array([0.01, -0.01, 0.02], F32), "neg")]))


def test_non_channel_constant_refused_by_name(tmp_path: Path) -> None:
    middle = [helper.make_node("Mul", ["f", "c2"], ["v"], name="scale")]
    with pytest.raises(UnsupportedOpError, match=r"Mul \(node scale\): the scale of shape \[2, 3\] changes the shape"):
        load(_mlp(tmp_path, middle, [numpy_helper.from_array(np.full((2, 3), 0.01, F32), "c2")]))


def test_int32_result_read_by_another_op_refused_by_name(tmp_path: Path) -> None:
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("MatMulInteger", ["q", "w", "z"], ["acc"], name="mmi"),
             helper.make_node("Flatten", ["acc"], ["y"], name="flat")]
    with pytest.raises(UnsupportedOpError, match=r"Flatten \(node flat\): reads the int32 result of MatMulInteger"):
        load(_model(nodes, _qp(), [1, 4], tmp_path / "m.onnx", y_type=TensorProto.INT32))


def test_conv_integer_per_channel_weight_zero_point_refused_by_name(tmp_path: Path) -> None:
    inits = _qp() + [numpy_helper.from_array(np.ones((2, 4, 3, 3), np.uint8), "wc"),
                     numpy_helper.from_array(np.array([1, 2], np.uint8), "wcz")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("ConvInteger", ["q", "wc", "z", "wcz"], ["acc"], name="convi"),
             helper.make_node("Cast", ["acc"], ["f"], to=TensorProto.FLOAT, name="cast"),
             helper.make_node("QuantizeLinear", ["f", "ys", "yz"], ["yq"], name="requant"),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], name="dequant")]
    with pytest.raises(UnsupportedOpError, match=r"ConvInteger \(node convi\): a per-channel w_zero_point"):
        load(_model(nodes, inits, [1, 4, 5, 5], tmp_path / "m.onnx"))
