"""The pytest plugin (entry point ``pytest11``): the ``bvverify_cache`` fixture and its options.

Loaded by every pytest run in an environment where bvverify is installed. Being inside the
package, it imports the ``bvverify`` facade and ``bvverify.testing`` (measured: 0.3 s, z3 and
highspy included; torch and the solvers' models are not loaded). The cache is built on the
first request of the fixture.

Options: ``--bvverify-cache-dir DIR`` or the ini option ``bvverify_cache_dir`` (default
``.bvverify-cache``, relative to the rootdir), ``--bvverify-no-cache`` (prove everything,
store nothing), ``--bvverify-cache-clear`` (empty the directory first). The terminal summary
says how many verdicts were read back and how many were proved.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bvverify.testing.cache import ProofCache

CACHE_KEY = pytest.StashKey["ProofCache"]()
DEFAULT_DIR = ".bvverify-cache"  # the same as bvverify.testing.cache.DEFAULT_DIR, without importing it


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bvverify", "bvverify proof cache")
    group.addoption("--bvverify-cache-dir", default=None, metavar="DIR",
                    help=f"directory of the bvverify proof cache (default: ini bvverify_cache_dir, else {DEFAULT_DIR} "
                         "in the rootdir)")
    group.addoption("--bvverify-no-cache", action="store_true", default=False,
                    help="prove every bvverify query again and store nothing")
    group.addoption("--bvverify-cache-clear", action="store_true", default=False,
                    help="delete the bvverify proof cache entries before the run")
    parser.addini("bvverify_cache_dir", default=DEFAULT_DIR,
                  help="directory of the bvverify proof cache, relative to the rootdir")


def cache_dir(config: pytest.Config) -> Path | None:
    """Where this run's cache lives (None when disabled)."""
    if config.getoption("bvverify_no_cache"):
        return None
    d = Path(config.getoption("bvverify_cache_dir") or config.getini("bvverify_cache_dir"))
    return d if d.is_absolute() else config.rootpath / d


@pytest.fixture(scope="session")
def bvverify_cache(pytestconfig: pytest.Config) -> ProofCache:
    """The session's proof cache: pass it as ``cache=`` to the ``bvverify.testing`` assertions."""
    cache = pytestconfig.stash.get(CACHE_KEY, None)
    if cache is None:
        from bvverify.testing.cache import ProofCache

        cache = ProofCache(cache_dir(pytestconfig))
        if pytestconfig.getoption("bvverify_cache_clear"):
            cache.clear()
        pytestconfig.stash[CACHE_KEY] = cache
    return cache


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    cache = config.stash.get(CACHE_KEY, None)
    if cache is None:
        return
    s = cache.stats
    where = cache.directory if cache.directory is not None else "disabled"
    terminalreporter.write_line(f"bvverify proof cache ({where}): {s.hits} hits, {s.misses} proved, {s.stored} stored, "
                                f"{s.rejected} rejected")
