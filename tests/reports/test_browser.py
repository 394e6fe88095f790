"""The HTML page in a real headless browser (Debian's chromium): it renders, and the screenshot is not
blank. Skipped when no chromium is installed."""

from __future__ import annotations

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


@pytest.mark.skipif(BROWSER is None, reason="no chromium installed (apt-get install chromium)")
def test_page_renders_in_chromium(tmp_path):
    from matplotlib.image import imread

    r = build_report([suite_csv(tmp_path), robust_json(tmp_path), radius_json(tmp_path)])
    files = write_report(r, tmp_path / "out")
    png = tmp_path / "shot.png"
    p = screenshot(files["html"], png, tmp_path / "profile")
    assert p.returncode == 0 and png.exists(), p.stderr[-2000:]
    img = imread(png)[..., :3]
    assert img.shape[:2] == (2000, 1200)
    gray = img.mean(axis=-1)
    assert (gray < 0.5).mean() > 0.01  # text and plots: not a white page
    # the embedded figures were decoded and drawn: coloured pixels (verdict bars, plot lines) are on the page
    colourful = (img.max(axis=-1) - img.min(axis=-1)) > 0.3
    assert colourful.mean() > 0.005
    rows_used = np.nonzero((gray < 0.9).any(axis=1))[0]
    assert rows_used.max() > 1000  # the page goes on past its header: the figures have their size
