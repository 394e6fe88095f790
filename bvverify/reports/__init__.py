"""Reports people can look at: result files (benchmark suite CSVs, ``robust`` / ``radius`` JSON) rendered
as a self-contained HTML page and a markdown file, and counterexamples saved as files and pictures.

Modules: ``records`` (what a report is made of), ``readers`` + ``formats_csv`` / ``formats_json`` /
``vnncomp`` (result files in, the format told by the content), ``summary`` (the tables), ``figures`` /
``images`` / ``mpl`` (matplotlib, Agg, PNG bytes), ``gallery`` (counterexample pictures from result files),
``build`` / ``html`` / ``markdown`` / ``write`` (the pages), ``counterexamples`` (``--save-counterexamples``).
matplotlib is imported only when a figure is drawn (extra ``report``).
"""

from __future__ import annotations

from bvverify.reports.build import Report, build_report
from bvverify.reports.counterexamples import save_counterexample
from bvverify.reports.readers import ReportInputError, read_all, read_results
from bvverify.reports.write import write_report

__all__ = ["Report", "ReportInputError", "build_report", "read_all", "read_results", "save_counterexample", "write_report"]
