"""The suite's summary: per-engine counts and times, agreement with the published verdicts,
engine-vs-engine conflicts (bugs), the time of ilp:z3 / bv against auto, and for mnistfc where
the int8 verdict differs from the float one; written as markdown (``DIR/SUITE.md``).

Everything here reads the CSV rows only, so a resumed run reports on all its rows the same way.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable

from suite_csv import Row

DECIDED = ("holds", "violated")
RAN = ("holds", "violated", "unknown", "error")  # rows where an engine was run
RELATIONS = ("agree", "disagree", "resolved", "unresolved", "open", "skipped")
SLOW_VS_AUTO = ("ilp:z3", "bv")  # the exact engines whose time against auto is a must-show figure
Base = tuple[str, str, str, str]  # suite, model, query, eps


def natural(text: str) -> tuple:
    """Sort key that puts P1-4 before P1-10 and prop_2 before prop_10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def relation(ours: str, theirs: str) -> str:
    """How our verdict stands to the published one: agree / disagree; resolved (we decided, they have no answer);
    unresolved (they decided, we did not); open (neither); skipped (misclassified, nothing decided); '' = nothing published."""
    if not theirs:
        return ""
    if ours == "misclassified":
        return "disagree" if theirs in DECIDED else "skipped"
    if theirs == "misclassified":
        return "disagree"
    if ours in DECIDED and theirs in DECIDED:
        return "agree" if ours == theirs else "disagree"
    if ours in DECIDED:
        return "resolved"
    return "unresolved" if theirs in DECIDED else "open"


def base(row: Row) -> Base:
    return row["suite"], row["model"], row["query"], row["eps"]


def charged(row: Row) -> float:
    """A row's time, a timeout counted as the whole timeout."""
    return float(row["timeout"]) if row["timed_out"] == "1" else float(row["seconds"])


def conflicts(rows: Iterable[Row]) -> list[tuple[Base, dict[str, str]]]:
    """Queries that two engines decided differently (holds vs violated): always a bug in one of them."""
    verdicts: dict[Base, dict[str, str]] = defaultdict(dict)
    for r in rows:
        verdicts[base(r)][r["engine"]] = r["status"]
    return [(b, v) for b, v in sorted(verdicts.items()) if {"holds", "violated"} <= set(v.values())]


def tally(sel: list[Row]) -> dict[str, object]:
    ran = [float(r["seconds"]) for r in sel if r["status"] in RAN]
    rel = Counter(r["relation"] for r in sel)
    return {"queries": len(sel), **{s: sum(r["status"] == s for r in sel) for s in (*RAN, "misclassified")},
            "timeouts": sum(r["timed_out"] == "1" for r in sel),
            "median_s": statistics.median(ran) if ran else None, "total_s": sum(ran), **{k: rel[k] for k in RELATIONS}}


def speed_vs_auto(rows: list[Row], engines: list[str]) -> list[str]:
    """For queries where ilp:z3 or bv took more than 1 s, the median of their time over auto's (timeouts charged the
    whole timeout): the figure that says whether auto is worth its name on the hard queries."""
    autos = [e for e in engines if e.split(":")[0] == "auto"]
    lines = []
    for slow in SLOW_VS_AUTO:
        if slow not in engines:
            lines.append(f"- `{slow}` vs auto: not measured (`{slow}` is not in --engines)")
            continue
        if not autos:
            lines.append(f"- `{slow}` vs auto: not measured (no auto engine in --engines)")
            continue
        auto = autos[0]
        by: dict[Base, dict[str, Row]] = defaultdict(dict)
        for r in rows:
            if r["engine"] in (slow, auto) and r["status"] in RAN:
                by[base(r)][r["engine"]] = r
        pairs = [(v[slow], v[auto]) for v in by.values() if slow in v and auto in v and charged(v[slow]) > 1.0]
        if not pairs:
            lines.append(f"- `{slow}` vs `{auto}`: no query where `{slow}` took more than 1 s (of "
                         f"{sum(1 for v in by.values() if slow in v and auto in v)} run by both)")
            continue
        ratios = [charged(s) / max(charged(a), 1e-3) for s, a in pairs]
        slow_to, auto_to = sum(s["timed_out"] == "1" for s, _ in pairs), sum(a["timed_out"] == "1" for _, a in pairs)
        n = f"{len(pairs)} quer{'y' if len(pairs) == 1 else 'ies'}"
        lines.append(f"- `{slow}` vs `{auto}`: on the {n} where `{slow}` took more than 1 s, "
                     f"median time ratio **{statistics.median(ratios):.2f}x** (`{slow}` / `{auto}`; range "
                     f"{min(ratios):.2f}x-{max(ratios):.2f}x); timeouts counted as the timeout: "
                     f"{slow_to} of `{slow}`, {auto_to} of `{auto}`")
    return lines


def table(header: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|",
            *("| " + " | ".join(cells) + " |" for cells in body)]


def _secs(v: object) -> str:
    return "-" if v is None else f"{v:.2f}" if isinstance(v, float) and v < 100 else f"{v:.0f}"


def stat_cells(t: dict[str, object], published: bool) -> list[str]:
    cells = [str(t["queries"]), str(t["holds"]), str(t["violated"]), f"{t['unknown']} ({t['timeouts']} timeouts)",
             str(t["misclassified"]), str(t["error"]), _secs(t["median_s"]), _secs(t["total_s"])]
    if published:
        cells += [str(t["agree"]), str(t["disagree"]), str(t["resolved"]), str(t["unresolved"]), str(t["open"])]
    return cells


def stat_header(published: bool, float_reference: bool) -> list[str]:
    head = ["queries", "holds", "violated", "unknown", "misclassified", "errors", "median s", "total s"]
    if published:
        head += ["agree", "differs from float" if float_reference else "disagree", "resolved (published: no answer)",
                 "unresolved (we: unknown)", "neither decided"]
    return head


def int8_verdict(v: dict[str, str]) -> str:
    decided = {s for s in v.values() if s in DECIDED}
    return decided.pop() if len(decided) == 1 else "conflict" if decided else "unknown"


def float_vs_int8(rows: list[Row]) -> list[str]:
    """Where the int8 verdict (any engine that decided) differs from the float verifiers' majority."""
    by: dict[Base, dict[str, str]] = defaultdict(dict)
    meta: dict[Base, Row] = {}
    cex: dict[Base, str] = {}
    for r in rows:
        by[base(r)][r["engine"]] = r["status"]
        meta[base(r)] = r
        if r["cex_file"]:
            cex.setdefault(base(r), r["cex_file"])
    grid: Counter = Counter()
    diffs = []
    for b, v in sorted(by.items(), key=lambda kv: (natural(kv[0][1]), float(kv[0][3]), natural(kv[0][2]))):
        ours, theirs = int8_verdict(v), meta[b]["published"] or "none"
        grid[(theirs if theirs in DECIDED else "no answer", ours)] += 1
        if ours in DECIDED and theirs in DECIDED and ours != theirs:
            why = (f"int8 counterexample: `{cex.get(b, '?')}`" if ours == "violated" else
                   "the int8 network is proved robust where the float one is not")
            diffs.append([b[1], b[2], theirs, meta[b]["published_detail"], ours, why])
    cols = ("holds", "violated", "unknown", "conflict")
    out = ["## Float vs int8", "",
           "The published verdicts are about the float networks; the int8 networks are different functions, so a "
           "difference is not an error of either tool: it is what changes when the float model is deployed in int8.", "",
           *table(["float (published) \\ int8 (ours)", *cols],
                  [[f, *(str(grid[(f, c)]) for c in cols)] for f in ("holds", "violated", "no answer")]), ""]
    if diffs:
        out += [f"{len(diffs)} queries where the int8 verdict differs from the float one:", "",
                *table(["model", "property", "float", "float tools", "int8", "evidence"], diffs), ""]
    else:
        out += ["No query where both decided and the int8 verdict differs from the float one.", ""]
    return out


def disagreement_lines(rows: list[Row]) -> list[str]:
    out = []
    for r in sorted((r for r in rows if r["relation"] == "disagree"),
                    key=lambda r: (natural(r["model"]), float(r["eps"]), natural(r["query"]))):
        if r["status"] == "violated":
            why = f"witness `{r['cex_file']}` (replayed by the reference interpreter)"
        elif r["status"] == "holds":
            why = (f"note: proved holds by `{r['engine']}`, an exact engine; the publication gives no witness to replay, so "
                   "its 'violated' cannot be checked here")
        else:
            why = f"note: {r['reason']}"
        out.append(f"- {r['model']} #{r['query']} eps {r['eps']}: `{r['engine']}` says {r['status']}, published "
                   f"{r['published']} ({r['published_detail']}); {why}")
    return out


def markdown(title: str, header: list[str], rows: list[Row], engines: list[str], notes: list[str], published_source: str,
             float_reference: bool, all_rows: list[Row]) -> tuple[str, list[tuple[Base, dict[str, str]]]]:
    """The report, and the engine conflicts (bugs) among ``all_rows`` (every row of the CSV, any engine)."""
    published = bool(published_source)
    lines = [f"# {title}", "", *header, ""]
    if notes:
        lines += [*(f"- {n}" for n in notes), ""]
    lines += ["## Per engine", "", *table(["engine", *stat_header(published, float_reference)],
                                          [[f"`{e}`", *stat_cells(tally([r for r in rows if r["engine"] == e]), published)]
                                           for e in engines]), ""]
    blocks = sorted({(r["model"], r["eps"]) for r in rows}, key=lambda b: (natural(b[0]), float(b[1])))
    if len(blocks) > 1:
        body = [[m, eps, f"`{e}`", *stat_cells(tally(sel), published)] for m, eps in blocks for e in engines
                if (sel := [r for r in rows if r["model"] == m and r["eps"] == eps and r["engine"] == e])]
        head = ["model", "eps", "engine", *stat_header(published, float_reference)]
        lines += ["## Per model and eps", "", *table(head, body), ""]
    lines += ["## ilp:z3 and bv against auto (queries where they took > 1 s)", "", *speed_vs_auto(rows, engines), ""]
    bugs = conflicts(all_rows)
    errors = [r for r in all_rows if r["status"] == "error"]
    lines += [f"## Engine conflicts and errors (bugs): {len(bugs)} conflicts, {len(errors)} errors", ""]
    if not bugs and not errors:
        lines += ["No query decided holds by one engine and violated by another; no engine raised."]
    lines += [f"- **BUG** {b[1]} #{b[2]} eps {b[3]}: " + ", ".join(f"`{e}` {s}" for e, s in sorted(v.items())) for b, v in bugs]
    lines += [f"- **ERROR** {r['model']} #{r['query']} eps {r['eps']} `{r['engine']}`: {r['reason']}" for r in errors]
    lines += [""]
    if published and not float_reference:
        dis = disagreement_lines(rows)
        lines += [f"## Disagreements with the published verdicts ({published_source}): {len(dis)}", "", *(dis or ["None."]), ""]
    if float_reference:
        lines += float_vs_int8(rows)
    if not published:
        lines += ["No published per-query results for this suite: the relation column is empty.", ""]
    return "\n".join(lines), bugs


__all__ = ["DECIDED", "RAN", "RELATIONS", "charged", "conflicts", "float_vs_int8", "markdown", "relation", "speed_vs_auto",
           "tally"]
