"""The deployment CPU of an onnxruntime model.

onnxruntime's int8 GEMM / convolution kernels (MLAS) pick their code path from the
CPU: with AVX-512 VNNI, AVX-VNNI or AMX the u8/s8 products are accumulated exactly in
int32 (measured on this project's host, an AVX-512 VNNI + AMX Xeon: 0 mismatches
with saturating inputs, see tests/importers/test_onnx_ort.py). On x86 CPUs without
VNNI, MLAS's u8 x s8 kernels are built on ``vpmaddubsw``, which saturates adjacent
pair sums to int16 (the reason onnxruntime's quantizer documents ``reduce_range``);
that arithmetic is not measured here, so an import on such a host is refused rather
than modelled by a guess.
"""

from __future__ import annotations

from bvverify.errors import UnsupportedOpError
from bvverify.runtimes.target import _cpu_flags, host_cpu

EXACT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def ort_target(flags: set[str] | None = None) -> tuple[str, str]:
    """(target name recorded in ``net.meta``, a note saying what it means), or refuse."""
    f = _cpu_flags() if flags is None else flags
    have = [x for x in EXACT_FLAGS if x in f]
    if not have:
        raise UnsupportedOpError(
            "this CPU has no VNNI / AMX int8 instructions: onnxruntime's u8 x s8 kernels on it saturate pair sums to "
            "int16 (vpmaddubsw), which bvverify has not measured; import the model on a CPU with AVX-512 VNNI, "
            "AVX-VNNI or AMX")
    # the CPU itself: fbgemm's and ATen's environment overrides (host().name) do not reach onnxruntime
    cpu = host_cpu(f) if flags is None else ("avx512-vnni" if "avx512_vnni" in f else "avx2")
    return cpu, (f"onnxruntime (MLAS) int8 kernels on this host ({cpu}; {', '.join(have)}): exact int32 accumulation; "
                 "the model holds for CPUs with VNNI or AMX")
