"""Writing a report to a folder: ``report.html`` (self-contained), ``report.md`` and ``figures/`` (the PNGs
the markdown links)."""

from __future__ import annotations

from pathlib import Path

from bvverify.engines.results import ResultFileError
from bvverify.reports.build import Report
from bvverify.reports.counterexamples import safe_stem
from bvverify.reports.html import render_html
from bvverify.reports.markdown import render_markdown
from bvverify.reports.summary import query_label


def write_report(r: Report, out: Path) -> dict[str, Path]:
    """The files written, by role: html, markdown, and each figure."""
    out = Path(out)
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
        files = {}
        for name, (_, png) in r.figures.items():
            files[name] = out / "figures" / f"{name}.png"
            files[name].write_bytes(png)
        pics = []
        for k, p in enumerate(r.pictures):
            path = out / "figures" / f"cex-{k:03d}-{safe_stem(query_label(p.query))}.png"
            path.write_bytes(p.png)
            pics.append(path)
        (out / "report.html").write_text(render_html(r), encoding="utf-8")
        rel = {n: f.relative_to(out).as_posix() for n, f in files.items()}
        (out / "report.md").write_text(render_markdown(r, rel, [p.relative_to(out).as_posix() for p in pics]),
                                       encoding="utf-8")
    except OSError as e:
        raise ResultFileError(f"{out}: cannot write the report ({e.strerror}: {e.filename})") from None
    return {"html": out / "report.html", "markdown": out / "report.md", **files}


__all__ = ["write_report"]
