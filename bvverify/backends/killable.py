"""A solve in a forked child that is killed at the deadline.

Some libraries' own time limits are not checked everywhere (HiGHS and z3 both
measured several seconds late, see their modules), and a verdict must come back on
time. The child inherits the translated model by ``fork`` (nothing is pickled on the
way in) and sends back only the small :class:`SolveResult`. Without a time limit the
child is simply waited for: the solver must never run in this process, because HiGHS
leaves its worker-thread scheduler behind and every HiGHS forked after that spins until
it is killed (measured: after one in-process HiGHS solve, forked solves of a 12-binary
model that take 0.05 s ran into their 20 s deadline). Where ``fork`` does not exist the
solve runs here, without a hard deadline.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections.abc import Callable
from typing import Any, TypeVar

from bvverify.backends.base import SolveResult

# After the library's own time limit, how long the child may take to hand its answer back
# before it is killed. A query may overshoot its limit by about a second in all; an answer
# this late is nearly always the library's own "time limit reached", so a kill loses little.
GRACE_SECONDS = 0.5

B = TypeVar("B")


def solve_killable(run: Callable[[B, float | None], SolveResult], built: B, seconds: float | None,
                   who: str) -> SolveResult:
    """``run(built, seconds)``, killed ``GRACE_SECONDS`` after ``seconds`` if it has not answered."""
    if "fork" not in mp.get_all_start_methods():
        return run(built, seconds)
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(run, built, seconds, send), daemon=True)
    child.start()
    send.close()
    try:
        ready = recv.poll(None if seconds is None else seconds + GRACE_SECONDS)
        kind, value = recv.recv() if ready else ("ok", SolveResult("unknown", reason=f"{who}: time limit reached (stopped)"))
    except EOFError:  # the child died without an answer
        kind, value = "ok", SolveResult("unknown", reason=f"{who}: the solver process ended without an answer "
                                                          f"(exit code {child.exitcode})")
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        recv.close()
    if kind == "error":  # an exception in the child is the caller's, as if the solve had run here
        raise value
    return value


def _child(run: Callable[[Any, float | None], SolveResult], built: Any, seconds: float | None, send: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it kills this child and stops
    try:
        msg: tuple[str, Any] = ("ok", run(built, seconds))
    except Exception as e:  # handed back to the parent, which raises it
        msg = ("error", e)
    try:
        send.send(msg)
    except Exception:  # an exception that does not pickle: its text
        send.send(("error", RuntimeError(f"in the solver process: {type(msg[1]).__name__}: {msg[1]}")))
    send.close()


__all__ = ["GRACE_SECONDS", "solve_killable"]
