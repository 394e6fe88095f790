"""The report as markdown, for a pull request or a wiki: the same tables as the HTML page, the figures
as PNG files beside it (``figures/``) linked by relative path."""

from __future__ import annotations

from bvverify.reports.build import Report
from bvverify.reports.summary import short


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(r: Report, figure_files: dict[str, str], picture_files: list[str]) -> str:
    m = [f"# {r.title}", "", f"bvverify report, {r.created}; {len(r.data.queries)} query results, "
         f"{len(r.data.radii)} radius searches from {len(r.data.files)} file(s).", "", "| file | format | records |",
         "| --- | --- | ---: |"]
    m += [f"| {cell(p)} | {f} | {n} |" for p, f, n in r.data.files]
    if r.counts:
        m += ["", "## Verdicts per engine", "", "| engine | " + " | ".join(r.statuses) + " | total | decided: median s | "
              "decided: total s |", "| --- |" + " ---: |" * (len(r.statuses) + 3)]
        for c in r.counts:
            med = "-" if c.median_seconds is None else f"{c.median_seconds:.3g}"
            m.append(f"| {cell(c.engine)} | " + " | ".join(str(c.counts[s]) for s in r.statuses)
                     + f" | {c.total} | {med} | {c.solved_seconds:.1f} |")
    if r.kinds:
        m += ["", "## Cross-check: their verdicts against ours", "", "| kind | queries |", "| --- | ---: |"]
        m += [f"| {cell(k)} | {n} |" for k, n in r.kinds.items()]
    for name, (caption, _) in r.figures.items():
        if name == "radius":
            m += ["", "## Robustness radius", "", ", ".join(f"{k} {v}" for k, v in r.radius.items())]
        m += ["", f"![{caption}]({figure_files[name]})", "", f"*{caption}*"]
    if r.slowest:
        m += ["", f"## Slowest {len(r.slowest)} queries", "", "| seconds | model | query | eps | engine | verdict | reason |",
              "| ---: | --- | --- | --- | --- | --- | --- |"]
        m += [f"| {q.seconds:.2f} | {cell(short(q.model))} | {cell(short(q.query))} | {cell(q.eps)} | {cell(q.engine)} | "
              f"{q.status} | {cell(q.reason[:120])} |" for q in r.slowest]
    if r.pictures:
        m += ["", f"## Counterexamples ({len(r.pictures)}{f', {r.pictures_left} more not drawn' if r.pictures_left else ''})"]
        for p, f in zip(r.pictures, picture_files):
            m += ["", f"![counterexample]({f})", "", cell(p.caption) + f" ({cell(p.query.source)})"]
            m += [f"- note: {cell(n)}" for n in p.notes]
    return "\n".join(m) + "\n"


__all__ = ["render_markdown"]
