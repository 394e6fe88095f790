"""The pytest plugin end to end, through pytester: a user's test file (the documented example),
the cache across runs (hit, faster, miss after the model file changes), and the options."""

from __future__ import annotations

import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.testing.conftest import bumped

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "test_my_model.py"
# the plugin loads through the package's pytest11 entry point once installed; name it otherwise
INSTALLED = any(ep.value == "bvverify.testing.plugin" for ep in entry_points(group="pytest11"))
ARGS = ["-p", "no:cacheprovider"] + ([] if INSTALLED else ["-p", "bvverify.testing.plugin"])


@pytest.fixture(scope="module", autouse=True)
def _loaded_in_this_process(digits):
    """pytester's in-process runs drop the modules first imported inside them, and C extensions
    (torch for the attack, the solvers) cannot be imported twice in one process: one query here
    imports them all in the outer process first."""
    from bvverify.testing import assert_robust

    pytest.importorskip("torch")
    assert_robust("digits-cnn", digits[0][0], 1, labels=digits[1][0])


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, float]:
    t0 = time.perf_counter()
    result = pytester.runpytest(*ARGS, *args)
    return result, time.perf_counter() - t0


def test_the_documented_example_passes_one_check_and_fails_the_other(pytester):
    pytester.makepyfile(test_my_model=EXAMPLE.read_text())
    result, _ = _run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*image 3, eps 1 codes, label 6: VIOLATED - the counterexample is predicted 4*",
        "*input codes: [[]*",
        "*outputs: [[]*",
        "bvverify proof cache (*.bvverify-cache): 0 hits, 4 proved, 4 stored, 0 rejected",
    ])
    assert (pytester.path / ".bvverify-cache" / ".gitignore").is_file()
    again, _ = _run(pytester)
    again.assert_outcomes(passed=1, failed=1)
    again.stdout.fnmatch_lines(["*VIOLATED*from the proof cache*", "bvverify proof cache (*): 4 hits, 0 proved, 0 stored*"])


SLOW_QUERY = """
from bvverify.bundled import test_images as images
from bvverify.testing import assert_robust

def test_cnn(bvverify_cache):
    x, y = images()
    # digits-cnn, image 0, eps 4 codes: about 3 s of auto (measured), proved robust
    r = assert_robust("digits-cnn", x[0], 4, labels=y[0], cache=bvverify_cache, timeout=120)
    assert r[0].status == "holds"
"""


def test_second_run_reads_the_proof_back_and_is_faster(pytester):
    pytester.makepyfile(test_cnn=SLOW_QUERY)
    first, t1 = _run(pytester)
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["bvverify proof cache (*): 0 hits, 1 proved, 1 stored*"])
    second, t2 = _run(pytester)
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["bvverify proof cache (*): 1 hits, 0 proved, 0 stored*"])
    print(f"\nfirst run {t1:.2f} s, second run {t2:.2f} s")  # the measured figures, with -s
    assert t2 < t1 / 2, (t1, t2)


USER_MODEL = """
from pathlib import Path
from bvverify.bundled import test_images as images
from bvverify.testing import assert_robust

def test_model(bvverify_cache):
    x, y = images()
    assert_robust(str(Path(__file__).parent / "model.bvq"), x[:3], 1, labels=y[:3], cache=bvverify_cache)
"""


def test_a_changed_model_file_is_proved_again(pytester, mlp):
    mlp.save(pytester.path / "model.bvq")
    pytester.makepyfile(test_model=USER_MODEL)
    _run(pytester)[0].stdout.fnmatch_lines(["bvverify proof cache (*): 0 hits, 3 proved, 3 stored*"])
    _run(pytester)[0].stdout.fnmatch_lines(["bvverify proof cache (*): 3 hits, 0 proved*"])
    bumped(mlp, "fc1.acc", (5, 5), 1).save(pytester.path / "model.bvq")
    result, _ = _run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["bvverify proof cache (*): 0 hits, 3 proved, 3 stored*"])


def test_cache_dir_options(pytester, mlp):
    mlp.save(pytester.path / "model.bvq")
    pytester.makepyfile(test_model=USER_MODEL)
    pytester.makeini("[pytest]\nbvverify_cache_dir = ci-cache\n")
    _run(pytester)[0].stdout.fnmatch_lines(["bvverify proof cache (*ci-cache): 0 hits, 3 proved, 3 stored*"])
    assert len(list((pytester.path / "ci-cache").glob("*/*.json"))) == 3
    _run(pytester, "--bvverify-cache-dir", str(pytester.path / "other"))[0].stdout.fnmatch_lines(
        ["bvverify proof cache (*other): 0 hits, 3 proved*"])
    _run(pytester, "--bvverify-no-cache")[0].stdout.fnmatch_lines(
        ["bvverify proof cache (disabled): 0 hits, 3 proved, 0 stored*"])
    _run(pytester, "--bvverify-cache-clear")[0].stdout.fnmatch_lines(["bvverify proof cache (*ci-cache): 0 hits, 3 proved*"])
    _run(pytester)[0].stdout.fnmatch_lines(["bvverify proof cache (*ci-cache): 3 hits, 0 proved*"])


def test_no_summary_line_without_the_fixture(pytester):
    pytester.makepyfile(test_plain="def test_nothing():\n    pass\n")
    result, _ = _run(pytester)
    result.assert_outcomes(passed=1)
    assert "bvverify proof cache" not in result.stdout.str()
