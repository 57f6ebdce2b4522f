"""Full-page screenshots of a report for the docs: docs/report-1280.png and docs/report-800.png.

    python3 -m tests.regenerate_screenshots [report.html]

Loads the report in headless Chromium (tests/webdriver.py) at 1280 and at 800 px wide, makes
the window as tall as the page and saves it. Without an argument the page is rendered from the
tests' synthetic data (tests/report_data.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from moviedl.stages.report.page import render
from tests.report_data import make_data
from tests.webdriver import Browser, find_browser

ROOT = Path(__file__).parent.parent
WIDTHS = (1280, 800)


def capture(browser: Browser, page: Path, width: int) -> bytes:
    """The whole page at ``width`` CSS pixels, as PNG."""
    browser.set_window_size(width, 900)
    browser.get("about:blank")
    browser.open(page)
    browser.wait_for(lambda: browser.execute("return document.body.dataset.ready") == "1",
                     what="the report to draw")
    # The window's frame takes some height: grow it until the viewport holds the whole page.
    for _ in range(5):
        inner, full, outer = browser.execute(
            "return [innerHeight, document.documentElement.scrollHeight, outerHeight]")
        if inner >= full:
            break
        browser.set_window_size(width, full + (outer - inner))
    return browser.screenshot()


def main(argv: list[str]) -> int:
    if find_browser() is None:
        print("needs chromium and chromedriver on PATH", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="moviedl-shots-") as tmp:
        if argv:
            page = Path(argv[0])
        else:
            page = Path(tmp) / "report.html"
            page.write_text(render(make_data()), "utf-8")
        with Browser.start() as browser:
            for width in WIDTHS:
                out = ROOT / "docs" / f"report-{width}.png"
                out.write_bytes(capture(browser, page, width))
                print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
