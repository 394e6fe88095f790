"""The deployment CPU as part of the model.

torch's int8 kernels compute different integers on different x86 CPUs, so a model
of a deployed network names the machine it runs on. Three facets decide the
arithmetic (each measured; see README "Targets"):

- ``fbgemm``: the instruction set fbgemm's u8*s8 GEMM runs (``avx2``, ``avx512``,
  ``avx512-vnni``). Without VNNI the kernel is built on ``vpmaddubsw``, which
  saturates each adjacent pair sum ``a[2i]w[2i] + a[2i+1]w[2i+1]`` to int16 before
  accumulating; with VNNI (``vpdpbusd``) the accumulation is exact. fbgemm reads
  ``FBGEMM_ENABLE_INSTRUCTIONS`` once per process and takes it only where the CPU
  supports it.
- ``cpu``: whether the CPU itself has AVX-512 VNNI decides the oneDNN routing of
  x86-engine Conv2d (torch asks cpuinfo, not fbgemm, so the variable above does
  not change it).
- ``aten``: ATen's vector width (``ATEN_CPU_CAPABILITY``): quantized add computes
  whole vector blocks of the flat tensor on one float path and the tail on another,
  and the block is 64 codes with AVX-512, 32 with AVX2.

A target prints as its CPU name (``avx2``, ``avx512``, ``avx512-vnni``) followed by
the facets that differ from that CPU's own, e.g. ``avx512-vnni,fbgemm=avx2,aten=avx2``
for a VNNI host run with ``FBGEMM_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bvverify.errors import BvverifyError

CPUS = ("avx2", "avx512", "avx512-vnni")
ATEN = ("avx2", "avx512")
# fbgemm's FBGEMM_ENABLE_INSTRUCTIONS values (upper-cased) -> the arithmetic they select
_FBGEMM_ENV = {"AVX2": "avx2", "AVX512": "avx512", "AVX512_256": "avx512", "AVX512_E1": "avx512-vnni",
               "AVX512_E1_256": "avx512-vnni"}
_ATEN_ENV = {"AVX2": "avx2", "AVX512": "avx512"}


class TargetError(BvverifyError, ValueError):
    """A target name that does not parse, or a host torch's kernels are not modelled for."""


@dataclass(frozen=True)
class Target:
    """One deployment machine's kernel choices (see the module docstring)."""

    cpu: str
    fbgemm: str
    aten: str

    def __post_init__(self) -> None:
        if self.cpu not in CPUS:
            raise TargetError(f"target cpu {self.cpu!r}: expected one of {', '.join(CPUS)}")
        if self.fbgemm not in CPUS or CPUS.index(self.fbgemm) > CPUS.index(self.cpu):
            raise TargetError(f"target fbgemm={self.fbgemm}: the {self.cpu} CPU cannot run it")
        if self.aten not in ATEN or (self.aten == "avx512" and self.cpu == "avx2"):
            raise TargetError(f"target aten={self.aten}: the {self.cpu} CPU cannot run it")

    @property
    def name(self) -> str:
        own = natural(self.cpu)
        extra = [f"{k}={getattr(self, k)}" for k in ("fbgemm", "aten") if getattr(self, k) != getattr(own, k)]
        return ",".join([self.cpu, *extra])

    def __str__(self) -> str:
        return self.name

    @property
    def pair_saturation(self) -> bool:
        """fbgemm's u8*s8 GEMM (Linear, non-depthwise Conv2d) saturates pair sums to int16."""
        return self.fbgemm != "avx512-vnni"

    @property
    def onednn_conv(self) -> bool:
        """torch's x86 engine may route Conv2d to oneDNN (only on CPUs with AVX-512 VNNI)."""
        return self.cpu == "avx512-vnni"

    @property
    def add_block(self) -> int:
        """Codes per vector block of torch's quantized add (the rest is the scalar tail)."""
        return 64 if self.aten == "avx512" else 32

    @property
    def avgpool_block(self) -> int:
        """Channels per vector block of torch's channels-last quantized avg_pool2d (int32 lanes)."""
        return 16 if self.aten == "avx512" else 8

    def can_run(self, other: Target) -> bool:
        """Whether torch on this machine can be made (by environment variables in a fresh
        process) to compute exactly ``other``'s integers."""
        best = natural(self.cpu)
        return (other.cpu == self.cpu and CPUS.index(other.fbgemm) <= CPUS.index(best.fbgemm)
                and ATEN.index(other.aten) <= ATEN.index(best.aten))

    def env(self) -> dict[str, str]:
        """Environment for a fresh torch process on a machine of this CPU to compute this target."""
        fb = {"avx2": "AVX2", "avx512": "AVX512", "avx512-vnni": "AVX512_E1"}[self.fbgemm]
        return {"FBGEMM_ENABLE_INSTRUCTIONS": fb, "ATEN_CPU_CAPABILITY": self.aten}

    def describe(self) -> list[str]:
        """What this target changes, one line a rule (for ``inspect``)."""
        return [
            f"fbgemm {self.fbgemm}: Linear / Conv2d u8*s8 accumulation "
            + ("saturates each adjacent pair sum to int16 (vpmaddubsw)" if self.pair_saturation
               else "is exact int32 (VNNI vpdpbusd)") + "; depthwise 3x3/5x5 convs saturate pairs on every target",
            "x86-engine Conv2d " + ("runs on oneDNN where torch routes it (groups <= 100, symmetric weights)"
                                    if self.onednn_conv else "runs on fbgemm (no VNNI: torch never routes it to oneDNN)"),
            f"aten {self.aten}: quantized add computes blocks of {self.add_block} codes on the vector path, the tail on "
            f"the scalar path; channels-last avg_pool2d rounds blocks of {self.avgpool_block} channels on the vector path",
        ]


def natural(cpu: str) -> Target:
    """A CPU's own kernel choices, with no environment override."""
    if cpu not in CPUS:
        raise TargetError(f"target {cpu!r}: expected one of {', '.join(CPUS)} (or host)")
    return Target(cpu, cpu, "avx2" if cpu == "avx2" else "avx512")


def parse(text: str | Target | None) -> Target:
    """``host`` (default), a CPU name, or ``CPU,fbgemm=ISA,aten=ISA``."""
    if isinstance(text, Target):
        return text
    if text is None or text.strip().lower() in ("", "host"):
        return host()
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    base = natural(parts[0])
    fields = {"fbgemm": base.fbgemm, "aten": base.aten}
    for p in parts[1:]:
        key, sep, val = p.partition("=")
        if not sep or key not in fields:
            raise TargetError(f"target {text!r}: {p!r} is not fbgemm=ISA or aten=ISA")
        fields[key] = val
    return Target(base.cpu, fields["fbgemm"], fields["aten"])


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def host_cpu(flags: set[str] | None = None) -> str:
    """The CPU kind from its feature flags (fbgemm's own tests: VNNI, then the AVX-512 set)."""
    f = _cpu_flags() if flags is None else flags
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= f:
        return "avx512-vnni" if "avx512_vnni" in f else "avx512"
    if "avx2" in f:
        return "avx2"
    raise TargetError("this CPU has no AVX2: torch's x86 int8 kernels are not modelled for it")


def resolve_host(flags: set[str] | None = None, environ: dict[str, str] | None = None) -> Target:
    """The target torch runs in this process: the CPU, narrowed by fbgemm's and ATen's
    own environment variables the way each library reads them (an unknown value or one
    the CPU cannot run is ignored by fbgemm; ATen falls back to the best it has)."""
    env = os.environ if environ is None else environ
    cpu = host_cpu(flags)
    own = natural(cpu)
    fb = _FBGEMM_ENV.get(env.get("FBGEMM_ENABLE_INSTRUCTIONS", "").strip().upper(), own.fbgemm)
    if CPUS.index(fb) > CPUS.index(cpu):
        fb = own.fbgemm
    at_raw = env.get("ATEN_CPU_CAPABILITY", "").strip().upper()
    if at_raw in ("DEFAULT", "NONE"):
        raise TargetError("ATEN_CPU_CAPABILITY=default: ATen's unvectorised quantized kernels are not modelled "
                          "(unset it, or set avx2 / avx512)")
    at = _ATEN_ENV.get(at_raw, own.aten)
    if ATEN.index(at) > ATEN.index(own.aten):
        at = own.aten
    return Target(cpu, fb, at)


@lru_cache(maxsize=1)
def host() -> Target:
    """This process's target; the environment is read once, as fbgemm and ATen do."""
    return resolve_host()


def can_run_here(target: Target) -> bool:
    """Whether a fresh torch process on this machine computes ``target``'s integers."""
    try:
        me = natural(host_cpu())
    except TargetError:
        return False
    return me.can_run(target)


__all__ = ["ATEN", "CPUS", "Target", "TargetError", "can_run_here", "host", "host_cpu", "natural", "parse",
           "resolve_host"]
