"""Two-network queries (``equiv``) against brute-force enumeration of the box.

Pairs are a random IR network and a twin: the same network with int16 pair saturation switched
(the same model on an AVX2 and a VNNI CPU), one output row of its last layer re-quantized (a
re-quantized model), or itself. Both questions are checked: a different argmax, and outputs more than K codes apart.
Every engine path must give the enumerated truth, and both outcomes must occur.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.engines.config import EngineOptions
from bvverify.engines.equiv import EquivError, equiv_property, pair_network, verify_equiv
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import codes_of_box
from bvverify.properties.spec import Property
from tests.strategies import Tally, boxes, enumerate_box, networks

N_CASES = 80
BALANCE = {"holds": 0.2, "violated": 0.1}  # floors on the outcome shares (65 holds, 15 violated of 80 measured)
FLOORS = {"argmax holds": 1, "argmax violated": 1, "within holds": 1, "within violated": 1}


@st.composite
def affine_nets(draw) -> QNetwork:
    """A Dense layer whose pow2 requantizer maps the accumulator onto the whole int8 range, so a
    twin's different accumulator reaches the outputs (deep random networks mostly saturate)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_in, n_out = draw(st.integers(2, 5)), draw(st.integers(2, 4))
    w = rng.integers(-128, 128, (n_out, n_in))
    if draw(st.booleans()):  # adjacent large weights of one sign: pair sums that can pass int16
        w[:, :2] = rng.choice([-128, 127], (n_out, 1)) * np.ones((1, 2), np.int64)
    x_zero = draw(st.sampled_from([0, 0, 128, 255]))
    wide = int(np.abs(w).sum(axis=1).max()) * 255
    shift = max(int(np.ceil(np.log2(wide))) - 8 + draw(st.integers(-2, 1)), 0)
    nodes = (ops.Dense("d.acc", ("input",), w, np.zeros(n_out, np.int64), x_zero, pair_saturation=draw(st.booleans())),
             ops.Requantize("d", ("d.acc",), "pow2", {"shift": np.int64(shift)}, -128, 127))
    return QNetwork(ops.InputSpec((n_in,), 0, 255), nodes, ops.OutputSpec("d"))


def twin(net: QNetwork, kind: str, seed: int) -> QNetwork:
    rng = np.random.default_rng(seed)
    nodes = list(net.nodes)
    affine = [i for i, n in enumerate(nodes) if isinstance(n, (ops.Dense, ops.Conv2d))]
    if kind == "pairs":
        nodes = [dataclasses.replace(n, pair_saturation=not n.pair_saturation) if i in affine and n.weight_bits <= 8
                 else n for i, n in enumerate(nodes)]
    elif kind in ("weight", "row"):  # one output row of the last layer re-quantized: moved by up to 8 codes per weight
        i = affine[-1]
        w = np.array(nodes[i].weight, dtype=np.int64)
        half = 2 ** (nodes[i].weight_bits - 1)
        row = int(rng.integers(w.shape[0]))
        step = 8 if kind == "weight" else 2 * half  # "row": a retrained row, any weights
        w[row] = np.clip(w[row] + rng.integers(-step, step + 1, w[row].shape), -half, half - 1)
        nodes[i] = dataclasses.replace(nodes[i], weight=w)
    return QNetwork(net.input, tuple(nodes), net.output, net.meta)


def truth(a: QNetwork, b: QNetwork, points: np.ndarray, within: int | None) -> bool:
    oa = a.evaluate_codes(points).reshape(len(points), -1)
    ob = b.evaluate_codes(points).reshape(len(points), -1)
    if within is None:
        return bool(np.any(np.argmax(oa, axis=1) != np.argmax(ob, axis=1)))
    return bool(np.any(np.abs(oa - ob) > within))


@dataclass(frozen=True)
class EquivCase:
    a: QNetwork
    b: QNetwork
    kind: str  # how b was made from a
    within: int | None  # None: a different argmax; K: outputs more than K codes apart
    prop: Property
    want: bool  # enumeration: some point of the box makes them disagree
    clo: np.ndarray
    chi: np.ndarray


def equiv_case(a: QNetwork, data: st.DataObject) -> EquivCase:
    kind = data.draw(st.sampled_from(["pairs", "weight", "row", "same"]))
    b = twin(a, kind, data.draw(st.integers(0, 2**31)))
    within = data.draw(st.sampled_from([None, None, None, 0, 1, 3]))
    lo, hi = data.draw(boxes(a))
    clo, chi = codes_of_box(a, lo, hi)
    want = truth(a, b, enumerate_box(clo, chi), within)
    return EquivCase(a, b, kind, within, equiv_property(a, b, lo, hi, within, codes=a.integer_input), want, clo, chi)


@functools.cache
def equiv_cases() -> tuple[EquivCase, ...]:
    """N_CASES pairs and questions, the same ones on every run (derandomized)."""
    cases: list[EquivCase] = []

    @settings(max_examples=N_CASES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.one_of(affine_nets(), networks()), st.data())
    def draw(a: QNetwork, data: st.DataObject) -> None:
        cases.append(equiv_case(a, data))

    draw()
    return tuple(cases)


def run_equiv(case: EquivCase, engine: str, solver: str | None, samples: int):
    return verify_equiv(case.a, case.b, case.prop, EngineOptions(engine, solver=solver), timeout=120, samples=samples)


@pytest.mark.parametrize("engine, solver, samples", [("ilp", "cpsat", 0), ("ilp", "highs", 0), ("bv", None, 0),
                                                     ("ilp", "cpsat", 64)],
                         ids=["ilp-cpsat", "ilp-highs", "bv", "ilp-cpsat-sampling"])
def test_equiv_matches_enumeration(engine: str, solver: str | None, samples: int) -> None:
    for i, case in enumerate(equiv_cases()):
        v = run_equiv(case, engine, solver, samples)
        tag = f"case {i} ({case.kind} twin, within={case.within}): {engine}/{solver}"
        assert v.status != "unknown", f"{tag}: {v.reason}"
        assert (v.status == "violated") == case.want, f"{tag} says {v.status}, enumeration says {case.want}"
        if v.counterexample is not None:
            assert np.all(v.counterexample.codes >= case.clo) and np.all(v.counterexample.codes <= case.chi), tag


def test_equiv_cases_are_balanced() -> None:
    """Both outcomes are common, and each question (argmax, within K) has both outcomes."""
    tally = Tally("equiv vs enumeration")
    for case in equiv_cases():
        question = "argmax" if case.within is None else "within"
        outcome = "violated" if case.want else "holds"
        tally.add(outcome, question, f"{question} {outcome}")
    tally.require(shares=BALANCE, **FLOORS)


def test_pair_network_is_both_networks() -> None:
    @settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(networks(), st.data())
    def inner(a: QNetwork, data: st.DataObject) -> None:
        b = twin(a, "pairs", 1)
        lo, hi = data.draw(boxes(a))
        pts = enumerate_box(*codes_of_box(a, lo, hi))[:200]
        both = pair_network(a, b).evaluate_codes(pts).reshape(len(pts), -1)
        n = both.shape[1] // 2
        assert np.array_equal(both[:, :n], a.evaluate_codes(pts).reshape(len(pts), -1))
        assert np.array_equal(both[:, n:], b.evaluate_codes(pts).reshape(len(pts), -1))

    inner()


def test_incomparable_pairs_are_refused() -> None:
    a = QNetwork(ops.InputSpec((2,), 0, 255), (ops.Dense("d", ("input",), np.eye(2, dtype=np.int64), np.zeros(2, np.int64), 0),),
                 ops.OutputSpec("d"))
    b = QNetwork(ops.InputSpec((2,), 0, 15), a.nodes, a.output)
    with pytest.raises(EquivError, match="different inputs"):
        pair_network(a, b)
    c = QNetwork(a.input, a.nodes, ops.OutputSpec("d", 0.5, 3))
    with pytest.raises(EquivError, match="quantize their outputs differently"):
        equiv_property(a, c, np.zeros(2), np.ones(2), 1, codes=True)
    with pytest.raises(EquivError, match=">= 0"):
        equiv_property(a, a, np.zeros(2), np.ones(2), -1, codes=True)


def test_equiv_command_on_two_targets() -> None:
    """`bvverify equiv MODEL --targets avx2,avx512-vnni`: the bundled MLP cannot change its
    argmax between the two CPUs near image 1, but can on a huge box (a replayed input)."""
    torch = pytest.importorskip("torch")  # noqa: F841
    import json

    from typer.testing import CliRunner

    from bvverify.bundled import IMAGES, MODELS_DIR
    from bvverify.cli import app

    args = ["equiv", str(MODELS_DIR / "digits_mlp.pt"), "--targets", "avx2,avx512-vnni", "--qengine", "fbgemm",
            "--data", str(IMAGES), "--json", "--timeout", "60"]
    res = CliRunner().invoke(app, args + ["--index", "1", "--eps", "1"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    assert doc["counts"] == {"holds": 1, "violated": 0, "unknown": 0}
    res = CliRunner().invoke(app, args + ["--index", "0", "--eps", "200"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    cex = doc["results"][0]["counterexample"]
    assert "interpreter" in cex["replayed_by"]
    assert np.argmax(cex["output_codes_a"]) != np.argmax(cex["output_codes_b"])
    res = CliRunner().invoke(app, ["equiv", str(MODELS_DIR / "digits_mlp.pt"), "--targets", "avx2"])
    assert res.exit_code == 2 and "exactly two targets" in res.output


def test_structural_shortcut_is_sound() -> None:
    """Whenever `same_integers_on_box` says two networks compute the same integers on a box,
    enumeration of the box agrees; and it does fire (near inputs where no pair sum can saturate)."""
    from bvverify.engines.equiv import same_integers_on_box

    fired = Tally("same_integers_on_box")

    @settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.one_of(affine_nets(), networks()), st.data())
    def inner(a: QNetwork, data: st.DataObject) -> None:
        b = twin(a, "pairs", 0)
        lo, hi = data.draw(boxes(a))
        clo, chi = codes_of_box(a, lo, hi)
        if same_integers_on_box(a, b, clo, chi):
            fired.add("yes")
            pts = enumerate_box(clo, chi)
            assert np.array_equal(a.evaluate_codes(pts), b.evaluate_codes(pts))
        else:
            fired.add("no")

    inner()
    fired.require(yes=30, no=5)  # 63 and 17 of 80 measured
