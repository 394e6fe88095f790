"""TorchScript graph -> integer IR.

Eager and FX-converted quantized models are traced (``torch.jit.trace``) and
TorchScript files are loaded; both give an inlined graph of ``quantized::`` and
``aten::`` ops, which this module walks once. Every op it does not model
exactly is refused by name, with the module scope it came from.

Engine-specific arithmetic (where the bias goes, which requantizer, which
pooling/add rounding) comes from the quantized engine the model runs on, and every
instruction-set-dependent kernel rule (pair saturation, oneDNN routing, the add's
vector block) from the deployment :class:`~bvverify.runtimes.target.Target`.

The walk (this module) dispatches each graph node to its builder in
``importers.torch_builders``; the measured kernel-routing rules are in
``importers.torch_routing``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.importers.torch_builders import BATCH, Builders, Deq, Sym
from bvverify.importers.torch_preprocess import FloatIn
from bvverify.importers.torch_routing import fbgemm_depthwise, fbgemm_groupwise, onednn_conv_route
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.runtimes.target import Target

ENGINES = ("fbgemm", "x86", "qnnpack")


class _Walker(Builders):
    """One pass over an inlined TorchScript graph: plumbing nodes (constants, attributes,
    lists, sizes, no-op copies) are evaluated here, every other op goes to its builder."""

    def __init__(self, module: Any, engine: str, source: str, input_shape: tuple[int, ...] | None, target: Target):
        if engine not in ENGINES:
            raise UnsupportedOpError(f"quantized engine {engine!r} not supported (choose from {', '.join(ENGINES)})")
        self.module = module
        self.engine = engine
        self.target = target
        self.source = source
        self.input_shape = input_shape
        self.nodes: list[ops.Node] = []
        self.env: dict[Any, Any] = {}
        self.input_spec: ops.InputSpec | None = None
        self.input_value: Any = None
        self.counter: dict[str, int] = {}
        self.notes: list[str] = []
        self.probes: list[tuple[str, int, str]] = []  # (IR tensor, graph node position, "op in scope"): self-check
        self.paths: dict[Any, str] = {}
        self.position: int | None = -1  # None inside a taken prim::If block: no probe there

    # -- the walk --------------------------------------------------------
    def walk(self, graph: Any) -> QNetwork:
        refuse_float(graph, self.source)
        inputs = list(graph.inputs())
        self.env[inputs[0]] = self.module
        if len(inputs) != 2:
            raise UnsupportedOpError(f"{self.source}: the model's forward takes {len(inputs) - 1} inputs; bvverify supports one")
        self.input_value = inputs[1]
        self.env[inputs[1]] = FloatIn(self._raw_shape(), self._raw_shape())
        for self.position, node in enumerate(graph.nodes()):
            self.visit(node)
        outs = list(graph.outputs())
        if len(outs) != 1:
            raise UnsupportedOpError(f"{self.source}: the model returns {len(outs)} values; bvverify supports one tensor")
        out = self.env.get(outs[0])
        if isinstance(out, Deq):
            sym, dequantized = out.sym, True
        elif isinstance(out, Sym):
            sym, dequantized = out, False
        else:
            raise UnsupportedOpError(f"{self.source}: the model's output is not a quantized tensor (missing DeQuantStub input?)")
        if self.input_spec is None:
            raise UnsupportedOpError(f"{self.source}: the model never quantizes its input (no QuantStub)")
        meta = {"source": self.source, "engine": self.engine, "target": self.target.name,
                "dequantized_output": dequantized, "notes": self.notes, "torch_probes": [list(p) for p in self.probes]}
        return QNetwork(self.input_spec, tuple(self.nodes),
                        ops.OutputSpec(sym.name, float(np.float32(sym.scale)), int(sym.zero_point)), meta)

    def _raw_shape(self) -> tuple[int, ...] | None:
        """The unbatched input shape: given, or recorded by the trace."""
        if self.input_shape is not None:
            return tuple(self.input_shape)
        try:
            sizes = self.input_value.type().sizes()
        except (AttributeError, RuntimeError):  # a scripted graph's input has no recorded sizes
            return None
        return tuple(sizes[1:]) if sizes and None not in sizes else None

    def visit(self, node: Any) -> None:
        kind = node.kind()
        ins = list(node.inputs())
        outs = list(node.outputs())
        if kind == "prim::Constant":
            self.env[outs[0]] = outs[0].toIValue()
        elif kind == "prim::GetAttr":
            self.env[outs[0]] = getattr(self.env[ins[0]], node.s("name"))
            parent = self.paths.get(ins[0])
            if _is_module(self.env[outs[0]]):  # a submodule (or packed weights): its own path
                self.paths[outs[0]] = f"{parent}.{node.s('name')}" if parent else node.s("name")
            elif parent:  # a plain attribute (scale, dtype): the module that owns it
                self.paths[outs[0]] = parent
        elif kind == "prim::If":
            self._if(node, ins, outs)
        elif kind == "aten::size" and len(ins) == 1:
            self.env[outs[0]] = [BATCH, *self.shape_of(ins[0], node)]
        elif kind == "aten::__getitem__" and isinstance(self.env.get(ins[0]), list):
            self.env[outs[0]] = self.env[ins[0]][self.const(ins[1])]
        elif kind in _CONSTANT_OPS and all(_plain(self.env.get(i)) for i in ins):
            self.env[outs[0]] = _CONSTANT_OPS[kind](*[self.env.get(i) for i in ins])
        elif kind == "aten::dim" and isinstance(self.env.get(ins[0]), (Sym, Deq, FloatIn)):
            self.env[outs[0]] = len(self.shape_of(ins[0], node)) + 1
        elif kind in ("aten::Float", "aten::FloatImplicit"):
            v = self.env.get(ins[0])
            self.env[outs[0]] = float(v.item()) if hasattr(v, "item") else v
        elif kind in ("aten::Int", "aten::IntImplicit") and hasattr(self.env.get(ins[0]), "item"):
            self.env[outs[0]] = int(self.env[ins[0]].item())
        elif kind in ("prim::ListConstruct", "prim::TupleConstruct"):
            self.env[outs[0]] = [self.env.get(i) for i in ins]
        elif kind in ("prim::ListUnpack", "prim::TupleUnpack"):
            for o, v in zip(outs, self.env[ins[0]]):
                self.env[o] = v
        elif kind == "aten::size":
            dim = self.const(ins[1]) if len(ins) > 1 else None
            full = [BATCH, *self.shape_of(ins[0], node)] if dim else None
            self.env[outs[0]] = BATCH if dim == 0 else (full[dim] if full is not None else None)  # x.size(-1) too
        elif kind in ("prim::NumToTensor", "aten::Int", "aten::ScalarImplicit"):
            self.env[outs[0]] = self.env.get(ins[0])
        elif kind in ("aten::contiguous", "aten::detach", "aten::clone") or (
            kind in ("aten::dropout", "aten::dropout_") and not self.const(ins[2])
        ):
            self.env[outs[0]] = self.env.get(ins[0])
        else:
            handler = getattr(self, "op_" + kind.replace("::", "_"), None)
            if handler is None:
                raise UnsupportedOpError(f"{self.source}: op {kind} in {self.where(node)} is not supported")
            result = handler(node, ins)
            if isinstance(result, Sym):
                cl = _channels_last_from_type(outs[0])
                if cl is not None:
                    result.channels_last = cl
                if self.position is not None and (result.name != "input" or kind == "aten::quantize_per_tensor"):
                    self.probes.append((result.name, self.position, f"{kind} in {self.where(node)}"))
            self.env[outs[0]] = result

    def _if(self, node: Any, ins: list, outs: list) -> None:
        """An ``if`` of a scripted model whose condition is a constant (a module attribute or a
        literal): the taken block is walked; a condition on data is refused."""
        cond = self.const(ins[0])
        if not isinstance(cond, bool):
            raise UnsupportedOpError(f"{self.source}: an if in {self.where(node)} depends on the input's values "
                                     "(data-dependent control flow is not supported)")
        block = list(node.blocks())[0 if cond else 1]
        position, self.position = self.position, None
        for inner in block.nodes():
            self.visit(inner)
        self.position = position
        for o, v in zip(outs, block.outputs()):
            self.env[o] = self.env.get(v)
            val = self.env[o]
            if isinstance(val, Sym) and position is not None and val.name != "input":
                self.probes.append((val.name, position, f"prim::If in {self.where(node)}"))


_CONSTANT_OPS = {  # Python-level ops of scripted models on constants (module attributes, literals)
    "aten::eq": lambda a, b: a == b, "aten::ne": lambda a, b: a != b, "aten::lt": lambda a, b: a < b,
    "aten::gt": lambda a, b: a > b, "aten::le": lambda a, b: a <= b, "aten::ge": lambda a, b: a >= b,
    "aten::__not__": lambda a: not a, "aten::__is__": lambda a, b: a is b, "aten::__isnot__": lambda a, b: a is not b,
    "aten::len": len,
}


EXPORT_HINT = ("bvverify reads a converted quantized model saved as TorchScript: model.eval(), set a qconfig, "
               "torch.ao.quantization.prepare, calibrate, torch.ao.quantization.convert, then "
               "torch.jit.save(torch.jit.trace(qmodel, example_input), 'model.pt') (or torch.jit.script(qmodel))")


def refuse_float(graph: Any, source: str) -> None:
    """A float model (no quantize op anywhere) is refused as such, not at its first aten::linear."""
    if graph.findAllNodes("aten::quantize_per_tensor"):
        return
    if any(n.kind().startswith("quantized::") for n in graph.nodes()):
        return
    raise UnsupportedOpError(f"{source}: a float (not quantized) model: it never quantizes its input and has no "
                             f"quantized layers; bvverify verifies the integer network that runs. {EXPORT_HINT}")


def _is_module(v: Any) -> bool:
    import torch

    return isinstance(v, (torch.nn.Module, torch.ScriptObject, torch._C.ScriptObject))


def _plain(v: Any) -> bool:
    """A Python value known at import time (not a tensor, symbolic or not)."""
    return v is not BATCH and (v is None or isinstance(v, (bool, int, float, str, list, tuple)))


def _channels_last_from_type(value: Any) -> bool | None:
    """Memory format from a traced value's strides (None when the graph has none)."""
    try:
        t = value.type()
        sizes, strides = t.sizes(), t.strides()
    except (AttributeError, RuntimeError):
        return None
    if not sizes or not strides or None in sizes or None in strides or len(sizes) != 4:
        return None
    return bool(strides[1] == 1 and sizes[1] > 1)


def from_script_module(module: Any, engine: str, source: str, input_shape: tuple[int, ...] | None,
                       target: Target) -> QNetwork:
    """Walk a (traced or scripted) TorchScript module's inlined graph.

    ``input_shape`` (without batch axis) is needed when the graph does not
    record it (saved or scripted modules); ``target`` is the deployment CPU."""
    return _Walker(module, engine, source, input_shape, target).walk(module.inlined_graph)


__all__ = ["ENGINES", "EXPORT_HINT", "Deq", "Sym", "fbgemm_depthwise", "fbgemm_groupwise", "from_script_module",
           "onednn_conv_route", "refuse_float"]
