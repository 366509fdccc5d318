"""The web app's budgets, measured with the browser on the real local stack:

- the restaurant list rendered within 1 s of navigation (median of fresh page loads), next
  to its baseline in the same load: when the /api/restaurants response it draws from ended;
- the whole app (HTML, CSS and JS, uncompressed) under 150 KB.

    python -m bench.web [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from pathlib import Path

from bench.__main__ import table, verdict
from bench.common import save

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
RENDER_TARGET_MS = 1000.0
SIZE_TARGET_BYTES = 150_000
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# Records, from the page itself, when the first restaurant link appears.
RENDER_PROBE = """
new MutationObserver((_, observer) => {
  if (document.querySelector(".cards a")) { window.__rendered = performance.now(); observer.disconnect(); }
}).observe(document, { childList: true, subtree: true });
"""


def app_size() -> dict[str, int]:
    sizes = {".html": 0, ".css": 0, ".js": 0}
    for path in WEB_DIR.rglob("*"):
        if path.suffix in sizes:
            sizes[path.suffix] += path.stat().st_size
    return sizes


def render_times(url: str, runs: int) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    rendered, api_done = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for _ in range(runs + 1):  # the first load warms the server's caches and is dropped
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            page.add_init_script(RENDER_PROBE)
            page.goto(f"{url}/#/restaurants")
            page.locator(".cards a").first.wait_for()  # (wait_for_function would need eval: CSP)
            rendered.append(page.evaluate("window.__rendered"))
            api_done.append(
                page.evaluate(
                    "performance.getEntriesByType('resource')"
                    ".find(e => e.name.includes('/api/restaurants')).responseEnd"
                )
            )
            context.close()
        browser.close()
    return rendered[1:], api_done[1:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    from tests.localstack import LocalStack

    local = LocalStack().start()
    try:
        rendered, api_done = render_times(local.url, args.runs)
    finally:
        local.stop()
    render_ms, api_ms = statistics.median(rendered), statistics.median(api_done)
    sizes = app_size()
    total = sum(sizes.values())
    rows = [
        {
            "metric": f"restaurant list rendered after navigation (median of {args.runs})",
            "value": f"{render_ms:.0f} ms",
            "baseline": f"{api_ms:.0f} ms (its API response ended)",
            "ratio": f"{render_ms / api_ms:.2f}x",
            "target": f"<= {RENDER_TARGET_MS:.0f} ms",
            "verdict": verdict(render_ms <= RENDER_TARGET_MS, f"{render_ms - RENDER_TARGET_MS:.0f} ms"),
        },
        {
            "metric": "web app size, uncompressed",
            "value": f"{total / 1000:.1f} KB",
            "baseline": ", ".join(f"{k[1:]} {v / 1000:.1f} KB" for k, v in sizes.items()),
            "ratio": f"{total / SIZE_TARGET_BYTES:.2f}x of budget",
            "target": f"< {SIZE_TARGET_BYTES / 1000:.0f} KB",
            "verdict": verdict(total < SIZE_TARGET_BYTES, f"{(total - SIZE_TARGET_BYTES) / 1000:.1f} KB"),
        },
    ]
    save("web", {"render_ms": render_ms, "api_ms": api_ms, "bytes": sizes, "total_bytes": total})
    print(table(rows))
    if render_ms > RENDER_TARGET_MS or total >= SIZE_TARGET_BYTES:
        raise SystemExit("the web app missed a budget")


if __name__ == "__main__":
    main()
