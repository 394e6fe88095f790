"""A differentiable torch surrogate of a ``QNetwork`` whose forward pass IS the reference interpreter.

Each op's output is ``exact + (ideal - ideal.detach())``: the value is the interpreter's own
integer result (``ir.interp.EVAL`` on the forward codes, bit for bit, whatever the runtime's
rounding and saturation do), and ``ideal - ideal.detach()`` is exactly 0 but carries the gradient
of a float approximation of the op: its straight-through slope. So a gradient step is guided by
the network's ideal real-valued behaviour while every value the search sees is exact, and the
search never needs a second pass through the interpreter for the points it steps through.

Straight-through slopes, per op (one builder per op type in :data:`SURROGATE`):

- Dense / Conv2d: the linear map of the integer weights (wrap and int16 pair saturation ignored);
- Requantize: the profile's per-channel slope (measured once per node on the exact profile over a
  wide accumulator range), inside the band where the unclamped code lies in ``[lo, hi]``, else 0;
- Clamp: 1 inside ``[lo, hi]``, 0 outside; MaxPool2d: to the max tap (0 where ``floor`` wins);
- AvgPool2d: ``1/n`` per valid tap of each window (times ``s_in/s_out`` for onnxruntime's pools),
  0 where the ideal code is past the clamp;
- Add: the scale ratios ``sa/s_out``, ``sb/s_out``, 0 where relu or the clamp saturates;
- Lookup: a finite-difference slope of the table over a few codes (the tables are steps);
- Concat / Reshape: the exact torch ops.

Values are float64 tensors holding exact integers (every IR value fits 2^53; checked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from bvverify.errors import UnsupportedOpError
from bvverify.ir import interp, ops
from bvverify.ir.graph import QNetwork
from bvverify.runtimes.base import get_profile
from bvverify.runtimes.pooling import avgpool_plan

DTYPE = torch.float64
EXACT_LIMIT = 2.0**53  # float64 holds every integer below this exactly
LOOKUP_HALF_WIDTH = 3  # codes either side for a Lookup table's finite-difference slope

Shape = tuple[int, ...]
OpFn = Callable[..., torch.Tensor]
Builder = Callable[[ops.Node, Sequence[Shape]], OpFn]


def to_numpy_codes(x: torch.Tensor) -> np.ndarray:
    """The exact integers a forward value holds, as int64 (batch first)."""
    return x.detach().cpu().numpy().astype(np.int64)


def from_numpy_codes(a: np.ndarray) -> torch.Tensor:
    if a.size and float(np.abs(a).max()) >= EXACT_LIMIT:
        raise UnsupportedOpError("attack surrogate: a tensor value beyond float64's exact integer range (2^53)")
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def exact(node: ops.Node, *xs: torch.Tensor) -> tuple[torch.Tensor, list[np.ndarray]]:
    """The interpreter's output for the forward values of ``xs`` (and those values as int64)."""
    arrays = [to_numpy_codes(x) for x in xs]
    return from_numpy_codes(interp.EVAL[type(node)](node, *arrays)), arrays


def straight_through(value: torch.Tensor, ideal: torch.Tensor) -> torch.Tensor:
    """``value`` forward (exactly: ``ideal - ideal.detach()`` is 0), ``ideal``'s gradient backward."""
    return value + (ideal - ideal.detach())


def _channel_view(v: np.ndarray, ndim: int) -> torch.Tensor:
    """Per-channel constants [C] shaped to broadcast over a batch [N, C, ...] of ``ndim`` axes."""
    return torch.from_numpy(np.asarray(v, dtype=np.float64)).reshape((1, -1) + (1,) * (ndim - 2))


# ---- Dense / Conv2d ------------------------------------------------------------------------


def build_dense(node: ops.Dense, in_shapes: Sequence[Shape]) -> OpFn:
    w = torch.from_numpy((np.asarray(node.weight, np.int64) - np.asarray(node.w_zero, np.int64)[:, None]).astype(np.float64))

    def run(x: torch.Tensor) -> torch.Tensor:
        value, _ = exact(node, x)
        return straight_through(value, F.linear(x, w))

    return run


def build_conv2d(node: ops.Conv2d, in_shapes: Sequence[Shape]) -> OpFn:
    wz = np.asarray(node.w_zero, np.int64)[:, None, None, None]
    w = torch.from_numpy((np.asarray(node.weight, np.int64) - wz).astype(np.float64))

    def run(x: torch.Tensor) -> torch.Tensor:
        value, _ = exact(node, x)
        # zero padding instead of x_zero padding: a constant shift, the same gradient
        ideal = F.conv2d(x, w, None, node.stride, node.padding, node.dilation, node.groups)
        return straight_through(value, ideal)

    return run


# ---- Requantize ----------------------------------------------------------------------------


def requant_slope(node: ops.Requantize, channels: int) -> np.ndarray:
    """Per-channel slope d(code)/d(acc) of the exact profile, the steeper of ``(g(D) - g(0)) / D`` and
    ``(g(0) - g(-D)) / D`` for the widest
    ``D`` inside the profile's monotone range whose codes stay far from ``rne_int``'s clip."""
    prof = get_profile(node.profile)
    mlo, mhi = prof.monotone_range(node.params)
    slope = np.zeros(channels)
    done = np.zeros(channels, bool)
    for e in range(30, 0, -2):
        d = min(2**e, -int(mlo), int(mhi))
        if d <= 0:
            break
        probe = np.array([[-d] * channels, [0] * channels, [d] * channels], dtype=np.int64)
        with np.errstate(all="ignore"):
            q = np.asarray(prof.apply(probe, node.params), dtype=np.int64)
        # the steeper side: a profile with its own ReLU (onnxruntime_integer's Relu before QuantizeLinear)
        # is flat below 0, and the slope wanted is the one inside the band
        diff = np.maximum(q[2] - q[1], q[1] - q[0])
        ok = ~done & (np.abs(q).max(axis=0) < 2**36) & (q[2] >= q[0])
        slope[ok] = diff[ok] / float(d)
        done |= ok
        if done.all():
            break
    return slope


def build_requantize(node: ops.Requantize, in_shapes: Sequence[Shape]) -> OpFn:
    shape = in_shapes[0]
    slope = requant_slope(node, shape[0])
    prof = get_profile(node.profile)
    slope_t = _channel_view(slope, len(shape) + 1)

    def run(acc: torch.Tensor) -> torch.Tensor:
        value, (a,) = exact(node, acc)
        with np.errstate(all="ignore"):
            q = np.moveaxis(prof.apply(np.moveaxis(a, 1, -1), node.params), -1, 1)  # before the node's clamp
        band = torch.from_numpy(((q >= node.lo) & (q <= node.hi)).astype(np.float64))
        return straight_through(value, acc * slope_t * band)

    return run


# ---- Clamp, MaxPool2d, AvgPool2d -----------------------------------------------------------


def build_clamp(node: ops.Clamp, in_shapes: Sequence[Shape]) -> OpFn:
    def run(x: torch.Tensor) -> torch.Tensor:
        value, (a,) = exact(node, x)
        inside = torch.from_numpy(((a >= node.lo) & (a <= node.hi)).astype(np.float64))
        return straight_through(value, x * inside)

    return run


def build_maxpool(node: ops.MaxPool2d, in_shapes: Sequence[Shape]) -> OpFn:
    c, h, w = in_shapes[0]
    size = c * h * w
    # the interpreter's own tap geometry, applied to element indices (padding: index `size`)
    taps = interp.maxpool_taps(node, np.arange(size, dtype=np.int64).reshape(1, c, h, w), -1)[0]
    out_shape = taps.shape[:3]
    idx = taps.reshape(int(np.prod(out_shape)), -1)
    index = torch.from_numpy(np.where(idx < 0, size, idx))

    def run(x: torch.Tensor) -> torch.Tensor:
        value, _ = exact(node, x)
        flat = x.reshape(x.shape[0], size)
        padded = torch.cat([flat, torch.full((x.shape[0], 1), -EXACT_LIMIT, dtype=x.dtype)], dim=1)
        best = padded[:, index].amax(dim=2).reshape((x.shape[0],) + out_shape)
        wins = (best.detach() >= node.floor).to(x.dtype)
        return straight_through(value, best * wins)

    return run


def build_avgpool(node: ops.AvgPool2d, in_shapes: Sequence[Shape]) -> OpFn:
    c, h, w = in_shapes[0]
    (oh, ow), wins = avgpool_plan(node, (c, h, w))
    mean = np.zeros((oh * ow, h * w))
    for win in wins:
        cells = np.add.outer(np.arange(win.h0, win.h1) * w, np.arange(win.w0, win.w1)).ravel()
        mean[win.oy * ow + win.ox, cells] = 1.0 / win.n
    z = float(node.zero_point)
    if node.out_scale is not None:  # onnxruntime: the output has its own scale and zero point
        mean *= float(np.float32(node.scale)) / float(np.float32(node.out_scale))
        zo, lower, upper = float(node.out_zero_point), node.lo - 0.5, node.hi + 0.5
    else:
        zo, lower, upper = z, max(node.lo, 0) - 0.5, min(node.hi, 255) + 0.5
    shift = torch.from_numpy(zo - z * mean.sum(axis=1)).reshape(1, 1, oh * ow)  # real code = zo + r (S - size z)/n
    mean_t = torch.from_numpy(mean.T.copy())

    def run(x: torch.Tensor) -> torch.Tensor:
        value, _ = exact(node, x)
        ideal = x.reshape(x.shape[0], c, h * w) @ mean_t
        real = ideal.detach() + shift
        band = ((real >= lower) & (real <= upper)).to(x.dtype)
        return straight_through(value, (ideal * band).reshape(x.shape[0], c, oh, ow))

    return run


# ---- Add, Lookup, Concat, Reshape ----------------------------------------------------------


def build_add(node: ops.Add, in_shapes: Sequence[Shape]) -> OpFn:
    p = node.params
    so = float(np.float32(p["s_out"]))
    ra, rb = float(np.float32(p["sa"])) / so, float(np.float32(p["sb"])) / so
    za, zb, zo = float(p["za"]), float(p["zb"]), float(p["z_out"])
    if node.rule == "onnxruntime":  # int8 or uint8 codes, no relu
        lower, upper = float(node.lo) - 0.5, float(node.hi) + 0.5
    else:
        lower = max(float(node.lo), 0.0, zo if node.relu else -np.inf) - 0.5
        upper = min(float(node.hi), 255.0) + 0.5

    def run(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        value, _ = exact(node, a, b)
        ideal = a * ra + b * rb
        real = ideal.detach() - (ra * za + rb * zb) + zo
        band = ((real >= lower) & (real <= upper)).to(a.dtype)
        return straight_through(value, ideal * band)

    return run


def lookup_slope(table: np.ndarray, half: int = LOOKUP_HALF_WIDTH) -> np.ndarray:
    """Central differences of the table over ``half`` codes either side (one-sided at its ends):
    the tables are step functions, so a one-code difference is mostly 0."""
    t = np.asarray(table, dtype=np.float64)
    k = np.arange(len(t))
    left, right = np.maximum(k - half, 0), np.minimum(k + half, len(t) - 1)
    span = np.maximum(right - left, 1)
    return (t[right] - t[left]) / span


def build_lookup(node: ops.Lookup, in_shapes: Sequence[Shape]) -> OpFn:
    slope = lookup_slope(node.table)

    def run(x: torch.Tensor) -> torch.Tensor:
        value, (a,) = exact(node, x)
        return straight_through(value, x * torch.from_numpy(slope[a - node.domain_lo]))

    return run


def build_concat(node: ops.Concat, in_shapes: Sequence[Shape]) -> OpFn:
    def run(*xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=node.axis + 1)

    return run


def build_reshape(node: ops.Reshape, in_shapes: Sequence[Shape]) -> OpFn:
    def run(x: torch.Tensor) -> torch.Tensor:
        return x.reshape((x.shape[0],) + tuple(node.shape))

    return run


SURROGATE: dict[type, Builder] = {
    ops.Dense: build_dense,
    ops.Conv2d: build_conv2d,
    ops.Requantize: build_requantize,
    ops.Clamp: build_clamp,
    ops.MaxPool2d: build_maxpool,
    ops.AvgPool2d: build_avgpool,
    ops.Add: build_add,
    ops.Lookup: build_lookup,
    ops.Concat: build_concat,
    ops.Reshape: build_reshape,
}
"""One builder per op type: ``SURROGATE[type(node)](node, input_shapes)`` precomputes the node's
constants once and returns ``fn(*inputs) -> output`` on batched float64 tensors."""


@contextmanager
def one_thread() -> Iterator[None]:
    """torch on one thread for the duration, then the caller's count again. The surrogate's batches
    are tiny float64 tensors: on a loaded 2-core machine torch's thread pool made one small conv
    200x slower (measured 12 ms against 0.06 ms); wrap backward passes in it too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def round_through(z: torch.Tensor) -> torch.Tensor:
    """``round(z)`` forward (exact integers), identity gradient backward."""
    return torch.round(z).detach() + (z - z.detach())


class Surrogate:
    """The network as a chain of :data:`SURROGATE` ops, built once per network."""

    def __init__(self, net: QNetwork) -> None:
        shapes = net.shapes
        shapes["input"] = tuple(net.input.shape)
        self.net = net
        self.steps: list[tuple[ops.Node, OpFn]] = []
        for node in net.nodes:
            build = SURROGATE.get(type(node))
            if build is None:
                raise UnsupportedOpError(f"attack surrogate: no rule for op {node.op}")
            self.steps.append((node, build(node, [shapes[n] for n in node.inputs])))
        self._last_use = {n: i for i, (node, _) in enumerate(self.steps) for n in node.inputs}

    def forward_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """The output for a batch of integer-valued input codes [N, *input.shape] (float64)."""
        env = {"input": codes}
        out = self.net.output.name
        with one_thread():
            for i, (node, fn) in enumerate(self.steps):
                env[node.name] = fn(*(env[n] for n in node.inputs))
                for n in node.inputs:
                    if self._last_use.get(n) == i and n != out:
                        env.pop(n, None)
        return env[out]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """The output at ``codes = round(z)`` with a straight-through gradient to ``z``."""
        return self.forward_codes(round_through(z))
