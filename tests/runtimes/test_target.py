"""Targets: names, host resolution from CPU flags and the libraries' own variables, and which
machine can run which target. Nothing here assumes the host: flags and environments are given."""

from __future__ import annotations

import pytest

from bvverify.runtimes.target import Target, TargetError, natural, parse, resolve_host

VNNI = {"avx2", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"}
AVX512 = VNNI - {"avx512_vnni"}
AVX2 = {"avx2", "fma"}


@pytest.mark.parametrize("name", ["avx2", "avx512", "avx512-vnni", "avx512-vnni,fbgemm=avx2,aten=avx2",
                                  "avx512-vnni,fbgemm=avx512", "avx512,aten=avx2"])
def test_names_round_trip(name: str) -> None:
    assert parse(name).name == name
    assert parse(parse(name).name) == parse(name)


@pytest.mark.parametrize("bad", ["avx3", "avx2,fbgemm=avx512", "avx2,aten=avx512", "avx512,fbgemm=avx512-vnni",
                                 "avx512-vnni,isa=avx2", "avx512-vnni,fbgemm"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(TargetError):
        parse(bad)


def test_rules_per_target() -> None:
    assert not parse("avx512-vnni").pair_saturation and parse("avx512-vnni").onednn_conv
    assert parse("avx512").pair_saturation and not parse("avx512").onednn_conv
    assert parse("avx2").pair_saturation and parse("avx2").add_block == 32
    assert parse("avx512-vnni").add_block == 64
    mixed = parse("avx512-vnni,fbgemm=avx2,aten=avx2")
    assert mixed.pair_saturation and mixed.onednn_conv and mixed.add_block == 32  # oneDNN routing asks the CPU
    assert len(natural("avx2").describe()) == 3


@pytest.mark.parametrize(("flags", "env", "want"), [
    (VNNI, {}, "avx512-vnni"),
    (AVX512, {}, "avx512"),
    (AVX2, {}, "avx2"),
    (VNNI, {"FBGEMM_ENABLE_INSTRUCTIONS": "AVX2"}, "avx512-vnni,fbgemm=avx2"),
    (VNNI, {"FBGEMM_ENABLE_INSTRUCTIONS": "avx512"}, "avx512-vnni,fbgemm=avx512"),
    (VNNI, {"FBGEMM_ENABLE_INSTRUCTIONS": "AVX512_E1"}, "avx512-vnni"),
    (VNNI, {"FBGEMM_ENABLE_INSTRUCTIONS": "AVX512_VNNI"}, "avx512-vnni"),  # not a name fbgemm knows: ignored
    (AVX2, {"FBGEMM_ENABLE_INSTRUCTIONS": "AVX512"}, "avx2"),  # more than the CPU has: fbgemm ignores it
    (VNNI, {"FBGEMM_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}, "avx512-vnni,fbgemm=avx2,aten=avx2"),
    (AVX2, {"ATEN_CPU_CAPABILITY": "avx512"}, "avx2"),
])
def test_resolve_host(flags: set[str], env: dict[str, str], want: str) -> None:
    assert resolve_host(flags, env).name == want


def test_host_without_avx2_or_with_default_aten_is_refused() -> None:
    with pytest.raises(TargetError, match="no AVX2"):
        resolve_host({"sse4_2"}, {})
    with pytest.raises(TargetError, match="default"):
        resolve_host(VNNI, {"ATEN_CPU_CAPABILITY": "default"})


def test_which_machine_runs_which_target() -> None:
    vnni = natural("avx512-vnni")
    assert vnni.can_run(parse("avx512-vnni,fbgemm=avx2,aten=avx2"))
    assert not vnni.can_run(parse("avx2"))  # torch routes x86 convs by the CPU: a VNNI host cannot be an AVX2 one
    assert not natural("avx2").can_run(vnni)
    assert parse("avx2").env() == {"FBGEMM_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    assert Target("avx512", "avx2", "avx512").name == "avx512,fbgemm=avx2"
