"""The attack: find input codes in a box that violate a property, fast, or the closest point found.

Phases, each batched and each judged exactly:

1. ``start``: the given starting points (clipped into the box) and the box centre;
2. ``pgd``: per open clause (most promising first) sign-gradient steps on the clause loss through
   the straight-through surrogate, projected onto the box, from the best point so far and from
   random points; every step's codes are evaluated exactly (the surrogate's forward pass is the
   interpreter itself), so each step is also a batch of tries;
3. ``corners``: at each batch's first step, the box corner the gradient's sign points to
   (small L-inf balls are mostly won at their corners);
4. ``local``: exact integer local search from the best point: every coordinate moved to either
   end of its range, all in one batch through the interpreter, greedily accepting the best
   improving move (and the best combination of the top improving moves), while it improves.

Only ``prop.output.holds`` on the interpreter's output accepts a violation; the margins of
``attacks.margin`` only rank points. Work is fixed by ``restarts`` and ``steps`` (same seed, same
points, same counts); ``seconds`` only cuts it short, checked between batches.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bvverify.attacks.margin import Margins, compile_condition, outputs_for_holds
from bvverify.attacks.surrogate import Surrogate, one_thread, round_through, to_numpy_codes
from bvverify.errors import InternalError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import EmptyBoxError, code_box
from bvverify.properties.spec import Property

BATCH_MACS = 2**22  # multiply-accumulates per batch: keeps one batch to a few ms, so the time cap is kept
MAX_ROWS = 64
LOCAL_ROUNDS = 200  # greedy rounds of the local search (each strictly improves; a cap for huge boxes)
STEP_START, STEP_END = 0.5, 0.05  # sign-gradient step, as a share of each coordinate's box width (cosine decay)


@dataclass
class AttackResult:
    """What an attack found. ``codes`` is an exact violation (replayed through the interpreter and
    ``prop.output.holds``, inside the box) or None; ``best`` the point of lowest exact margin (a
    solver hint or a split point either way)."""

    codes: np.ndarray | None
    best: np.ndarray
    best_margin: float
    clause: int | None
    tries: int
    steps: int
    seconds: float
    phase: str
    cut: bool = False  # the clock stopped the search before its seeded work was done (a loaded machine)


class Found(Exception):  # noqa: N818 - control flow inside the search, never escapes it
    """A violation was judged: unwinds to ``attack``."""


def network_macs(net: QNetwork) -> int:
    """Multiply-accumulates of one sample through the affine layers (the cost of a row)."""
    total = 0
    shapes = net.shapes
    for node in net.nodes:
        if isinstance(node, (ops.Dense, ops.Conv2d)):
            w = np.asarray(node.weight)
            total += int(np.prod(shapes[node.name])) * int(np.prod(w.shape[1:]))
        else:
            total += int(np.prod(shapes[node.name]))
    return max(total, 1)


class Search:
    """Bookkeeping of one attack: the best point, the counters, exact judging and the clock."""

    def __init__(self, net: QNetwork, prop: Property, lo: np.ndarray, hi: np.ndarray, margins: Margins,
                 open_clauses: np.ndarray, deadline: float) -> None:
        self.net, self.prop, self.lo, self.hi = net, prop, lo, hi
        self.margins = margins
        self.open = open_clauses
        self.deadline = deadline
        self.rows = int(np.clip(BATCH_MACS // network_macs(net), 1, MAX_ROWS))
        self.best: np.ndarray = ((lo + hi) // 2).astype(np.int64)
        self.best_margin = np.inf
        self.best_clause: int | None = None
        self.tries = 0
        self.steps = 0
        self.found: np.ndarray | None = None
        self.phase = ""

    def out_of_time(self) -> bool:
        return time.perf_counter() >= self.deadline

    def judge(self, codes: np.ndarray, phase: str, out: np.ndarray | None = None) -> np.ndarray:
        """Exact objective (min over open clauses of the clause margin) of each row of ``codes``;
        keeps the best point; raises ``Found`` on the first row that violates the property."""
        if out is None:
            out = np.asarray(self.net.evaluate_codes(codes))
        self.tries += len(codes)
        every = self.margins.clauses(out)
        cm = every[:, self.open]
        obj = cm.min(axis=1) if cm.shape[1] else np.full(len(codes), np.inf)
        i = int(np.argmin(obj)) if len(obj) else 0
        if len(obj) and obj[i] < self.best_margin:
            self.best, self.best_margin = codes[i].copy(), float(obj[i])
            self.best_clause = int(self.open[int(np.argmin(cm[i]))])
        near = (every <= self.margins.slack(out)).any(axis=1)  # any clause: a violation is a violation
        for r in np.nonzero(near)[0]:
            y = outputs_for_holds(self.net, self.prop, out[r])
            if self.prop.output.holds(y):
                self.found, self.phase = codes[r].copy(), phase
                self.best, self.best_margin = codes[r].copy(), float(every[r].min())
                self.best_clause = self.violated_clause(y)
                raise Found
        return obj

    def violated_clause(self, y: np.ndarray) -> int:
        """The first clause (an open one if any) whose atoms all hold exactly at ``y``."""
        clauses = self.prop.output.clauses
        ok = [k for k, clause in enumerate(clauses) if all(a.holds(y) for a in clause)]
        opened = [k for k in ok if k in set(self.open.tolist())]
        return (opened or ok)[0]

    def batches(self, codes: np.ndarray, phase: str, first: bool = False) -> np.ndarray:
        """``judge`` in batches of ``rows``, stopping (with the objectives so far, +inf after) at the deadline;
        ``first``: the first batch runs even then (the starts: a result always has a judged best point)."""
        obj = np.full(len(codes), np.inf)
        for s in range(0, len(codes), self.rows):
            if self.out_of_time() and not (first and s == 0):
                break
            obj[s : s + self.rows] = self.judge(codes[s : s + self.rows], phase)
        return obj


def pgd(search: Search, sur: Surrogate, rng: np.random.Generator, restarts: int, steps: int) -> None:
    """Sign-gradient descent on each open clause's loss from ``restarts`` points per clause (the best
    point so far, then random points of the box), most promising clause first, ``rows`` per batch."""
    lo, hi = search.lo.astype(np.float64), search.hi.astype(np.float64)
    width = hi - lo
    start = search.best.astype(np.float64)
    out = np.asarray(search.net.evaluate_codes(search.best[None]))
    order = search.open[np.argsort(search.margins.clauses(out)[0, search.open], kind="stable")]
    jobs = [(int(k), j) for k in order for j in range(restarts)]
    for b0 in range(0, len(jobs), search.rows):
        chunk = jobs[b0 : b0 + search.rows]
        z = np.stack([start if j == 0 else rng.uniform(lo, hi) for _, j in chunk])
        clause = np.array([k for k, _ in chunk])
        for t in range(steps):
            if search.out_of_time():
                return
            zt = torch.from_numpy(z).requires_grad_(True)
            y = sur(zt)
            codes = to_numpy_codes(round_through(zt))
            search.judge(codes, "pgd", to_numpy_codes(y))
            loss = search.margins.torch_loss(y, clause).sum()
            (grad,) = torch.autograd.grad(loss, zt)
            g = np.sign(grad.numpy())
            search.steps += 1
            if t == 0:
                corners = np.where(g < 0, hi, np.where(g > 0, lo, codes)).astype(np.int64)
                search.batches(corners, "corners")
            frac = STEP_END + (STEP_START - STEP_END) * 0.5 * (1 + np.cos(np.pi * t / max(steps, 1)))
            z = np.clip(z - frac * width * g, lo, hi)


def local_search(search: Search) -> None:
    """Greedy exact moves of single coordinates to either end of the box, from the best point."""
    lo, hi = search.lo.ravel(), search.hi.ravel()
    free = np.nonzero(hi > lo)[0]
    shape = search.lo.shape
    for _ in range(LOCAL_ROUNDS):
        if search.out_of_time():
            return
        x = search.best.ravel()
        here = search.best_margin
        idx = np.concatenate([free, free])
        val = np.concatenate([lo[free], hi[free]])
        keep = x[idx] != val
        idx, val = idx[keep], val[keep]
        if not len(idx):
            return
        moves = np.tile(x, (len(idx), 1))
        moves[np.arange(len(idx)), idx] = val
        obj = search.batches(moves.reshape((-1,) + shape), "local")
        better = np.nonzero(obj < here)[0]
        if not len(better):
            return
        ranked = better[np.argsort(obj[better], kind="stable")]
        combos = []
        for k in (2, 4, 8, 16, 32):
            taken: dict[int, int] = {}
            for r in ranked:
                if len(taken) == k:
                    break
                taken.setdefault(int(idx[r]), int(val[r]))
            if len(taken) < k:
                break
            c = x.copy()
            c[list(taken)] = list(taken.values())
            combos.append(c)
        if combos and not search.out_of_time():
            search.batches(np.array(combos).reshape((-1,) + shape), "local")
        if not search.best_margin < here:  # ``judge`` kept the best of singles and combinations
            return


def attack(net: QNetwork, prop: Property, lo: np.ndarray | None = None, hi: np.ndarray | None = None, *,
           seconds: float | None = 1.0, seed: int = 0, restarts: int = 8, steps: int = 30,
           starts: Sequence[np.ndarray] = (), clauses: Sequence[int] | None = None) -> AttackResult:
    """Search the integer input-code box ``[lo, hi]`` (default: the property's code box) for a
    violation of ``prop``; see the module docstring. ``restarts``: starting points per open clause
    (the best point so far, then random ones); ``steps``: gradient steps from each; ``starts``: points
    judged first (clipped into the box); ``clauses`` restricts the search to those clause indices (a
    point violating another clause still counts when it is met). Deterministic for a seed unless
    ``seconds`` (wall clock, checked between batches of a few ms) cuts the work short; None: no cap."""
    t0 = time.perf_counter()
    deadline = np.inf if seconds is None else t0 + seconds
    shape = tuple(net.input.shape)
    if lo is None or hi is None:
        blo, bhi = code_box(net, prop)
        lo = blo if lo is None else lo
        hi = bhi if hi is None else hi
    lo = np.asarray(lo, dtype=np.int64).reshape(shape)
    hi = np.asarray(hi, dtype=np.int64).reshape(shape)
    if np.any(lo > hi):
        raise EmptyBoxError("attack: the input code box is empty")
    margins = compile_condition(net, prop.output)
    open_clauses = np.arange(margins.n_clauses) if clauses is None else np.array(sorted(set(clauses)), dtype=np.int64)
    if len(open_clauses) and (open_clauses.min() < 0 or open_clauses.max() >= margins.n_clauses):
        raise InternalError(f"attack: clause indices {list(clauses or [])} outside 0..{margins.n_clauses - 1}")
    search = Search(net, prop, lo, hi, margins, open_clauses, deadline)
    rng = np.random.default_rng(seed)
    try:
        with one_thread(), torch.enable_grad():
            first = [np.clip(np.asarray(s).reshape(shape), lo, hi).astype(np.int64) for s in starts]
            search.batches(np.array(first + [search.best]), "start", first=True)
            if len(open_clauses) and steps > 0 and restarts > 0 and not search.out_of_time():
                pgd(search, Surrogate(net), rng, restarts, steps)
            if len(open_clauses):
                local_search(search)
    except Found:
        pass
    codes = search.found
    if codes is not None:
        confirm(net, prop, codes, lo, hi)
    return AttackResult(codes, search.best, search.best_margin, search.best_clause, search.tries, search.steps,
                        time.perf_counter() - t0, search.phase, cut=codes is None and search.out_of_time())


def confirm(net: QNetwork, prop: Property, codes: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """The returned violation, replayed once more through ``net.evaluate_codes`` (the surrogate's
    forward pass is the interpreter, so a failure here is a bug)."""
    out = np.asarray(net.evaluate_codes(codes[None]))[0]
    if np.any(codes < lo) or np.any(codes > hi) or not prop.output.holds(outputs_for_holds(net, prop, out)):
        raise InternalError("attack: a judged violation does not replay through the reference interpreter")
