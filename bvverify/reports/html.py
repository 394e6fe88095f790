"""The report as one self-contained HTML page: the figures are embedded as base64 PNG data URIs, the
style is inline, and nothing is fetched (no scripts, fonts or stylesheets from elsewhere), so the file
can be mailed, attached to a CI run or opened offline."""

from __future__ import annotations

import base64
from html import escape

from bvverify.reports.build import Report
from bvverify.reports.figures import COLORS
from bvverify.reports.summary import short

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1100px;
       color: #222; padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td { white-space: nowrap; } td.wrap { white-space: normal; } td.l, th.l { text-align: left; }
.muted { color: #666; font-size: 0.9em; } img { max-width: 100%; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #444; }
.note { color: #a33; font-size: 0.85em; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; color: white; font-size: 0.85em; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def badge(status: str) -> str:
    return f'<span class="badge" style="background:{COLORS.get(status, "#555")}">{escape(status)}</span>'


def render_html(r: Report) -> str:
    h: list[str] = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(r.title)}</title>",
                    f"<style>{STYLE}</style></head><body>", f"<h1>{escape(r.title)}</h1>",
                    f'<p class="muted">bvverify report, {escape(r.created)}; {len(r.data.queries)} query results, '
                    f"{len(r.data.radii)} radius searches from {len(r.data.files)} file(s).</p>"]
    h += ["<h2>Inputs</h2>", '<table><tr><th class="l">file</th><th class="l">format</th><th>records</th></tr>']
    h += [f'<tr><td class="l">{escape(p)}</td><td class="l">{escape(f)}</td><td>{n}</td></tr>' for p, f, n in r.data.files]
    h.append("</table>")
    if r.counts:
        h += ["<h2>Verdicts per engine</h2>", '<table><tr><th class="l">engine</th>']
        h += [f"<th>{badge(s)}</th>" for s in r.statuses]
        h.append("<th>total</th><th>decided: median s</th><th>decided: total s</th></tr>")
        for c in r.counts:
            med = "-" if c.median_seconds is None else f"{c.median_seconds:.3g}"
            h.append(f'<tr><td class="l">{escape(c.engine)}</td>' + "".join(f"<td>{c.counts[s]}</td>" for s in r.statuses)
                     + f"<td>{c.total}</td><td>{med}</td><td>{c.solved_seconds:.1f}</td></tr>")
        h.append("</table>")
    if r.kinds:
        h += ["<h2>Cross-check: their verdicts against ours</h2>", '<table><tr><th class="l">kind</th><th>queries</th></tr>']
        h += [f'<tr><td class="l">{escape(k)}</td><td>{n}</td></tr>' for k, n in r.kinds.items()]
        h.append("</table>")
    for name, (caption, png) in r.figures.items():
        if name == "radius":
            h.append("<h2>Robustness radius</h2>")
            h.append("<p>" + ", ".join(f"{k} {v}" for k, v in r.radius.items()) + "</p>")
        h.append(f'<figure><img alt="{escape(caption)}" src="{data_uri(png)}">'
                 f"<figcaption>{escape(caption)}</figcaption></figure>")
    if r.slowest:
        h += [f"<h2>Slowest {len(r.slowest)} queries</h2>", '<table><tr><th>seconds</th><th class="l">model</th>'
              '<th class="l">query</th><th>eps</th><th class="l">engine</th><th class="l">verdict</th>'
              '<th class="l">reason</th><th class="l">source</th></tr>']
        for q in r.slowest:
            h.append(f"<tr><td>{q.seconds:.2f}</td><td class=\"l\" title=\"{escape(q.model)}\">{escape(short(q.model))}</td>"
                     f"<td class=\"l\" title=\"{escape(q.query)}\">{escape(short(q.query))}</td>"
                     f"<td>{escape(q.eps)}</td><td class=\"l\">{escape(q.engine)}</td><td class=\"l\">{badge(q.status)}</td>"
                     f'<td class="l wrap">{escape(q.reason[:120])}</td><td class="l muted">{escape(q.source)}</td></tr>')
        h.append("</table>")
    if r.pictures:
        more = f", {r.pictures_left} more not drawn" if r.pictures_left else ""
        h.append(f"<h2>Counterexamples ({len(r.pictures)}{more})</h2>")
        for p in r.pictures:
            notes = "".join(f'<br><span class="note">{escape(n)}</span>' for n in p.notes)
            h.append(f'<figure><img alt="counterexample {escape(p.caption)}" src="{data_uri(p.png)}">'
                     f"<figcaption>{escape(p.caption)} <span class=\"muted\">({escape(p.query.source)})</span>{notes}"
                     "</figcaption></figure>")
    h.append("</body></html>\n")
    return "\n".join(h)


__all__ = ["data_uri", "render_html"]
