"""The HTML page in a real headless browser (Debian's chromium): it renders, and the screenshot is not
blank. Skipped when no chromium is installed."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from bvverify.reports import build_report, write_report  # noqa: E402
from tests.reports.fixtures import radius_json, robust_json, suite_csv  # noqa: E402

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html, png, profile, size="1200,2000") -> subprocess.CompletedProcess:
    return subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={size}",
                           html.resolve().as_uri()], capture_output=True, text=True, timeout=120)


def colourful_share(png) -> float:
    """Share of clearly coloured pixels (the plots and pictures; the page's own text is grey on white)."""
    from matplotlib.image import imread

    img = imread(png)[..., :3]
    assert img.shape[:2] == (2000, 1200)
    return float(((img.max(axis=-1) - img.min(axis=-1)) > 0.3).mean())


@pytest.mark.skipif(BROWSER is None, reason="no chromium installed (apt-get install chromium)")
def test_page_renders_in_chromium(tmp_path):
    from matplotlib.image import imread

    r = build_report([suite_csv(tmp_path), robust_json(tmp_path), radius_json(tmp_path)])
    files = write_report(r, tmp_path / "out")
    png = tmp_path / "shot.png"
    p = screenshot(files["html"], png, tmp_path / "profile")
    assert p.returncode == 0 and png.exists(), p.stderr[-2000:]
    gray = imread(png)[..., :3].mean(axis=-1)
    assert (gray < 0.5).mean() > 0.03  # text, tables and plots: not a blank page
    assert np.nonzero((gray < 0.9).any(axis=1))[0].max() > 1000  # the page goes on past its header
    # the embedded figures were decoded and drawn: the same page with its images broken has almost no colour
    # (measured: 0.088 with the figures, 0.007 with every image broken)
    shown = colourful_share(png)
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r'src="data:image/png;base64,[^"]*"', 'src="data:image/png;base64,AAAA"',
                             files["html"].read_text()))
    screenshot(broken, tmp_path / "broken.png", tmp_path / "profile")
    assert shown > 0.03 > colourful_share(tmp_path / "broken.png")
