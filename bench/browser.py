"""The Review page as a person meets it, in a real browser (issue 13): ``python -m bench browser
[--decisions 12] [--opens 12] [--switches 8] [--size 1280x720] [--tree DIR]``.

Starts ``streamlit run`` on a fresh demo worklist (every case audited, as ``./run.sh`` leaves
it) and drives Debian's Chromium through Playwright. Times are taken inside the page with
``performance.now()``, from the key press (or click) to the moment the page shows the result:

- key ``a`` until the focused card shows "Accepted by …" (targets: p50 <= 150 ms, p95 <= 250 ms);
- whether the Review image is wholly inside the viewport when each case arrives;
- key ``j`` until the next case's image is loaded and shown, after the first case (target <= 1 s);
- a window preset click until the re-windowed image is shown (target <= 300 ms).

``--tree`` measures another checkout's app (before/after); an app without window presets
reports that figure as not available. Prints numbers and the load average; never asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.app import _p95
from bench.server import REPO, demo_db, streamlit_app

CHROMIUM = "/usr/bin/chromium"
REVIEWER = "bench"
IMAGE = ".cxr-frame img, [data-testid='stImage'] img"
FOCUSED_CARD = "[class*='st-key-flag_card_']:has-text('focused')"

# Page-side helpers: remember when a key went down or a button was pressed, find the Review
# image (an st.image, or the viewer component's <img> inside its shadow root), and say since
# when what the action should show is shown.
_INSTALL = """
() => {
  if (window.cxrBench) return;
  const inShadow = () => [...document.querySelectorAll("*")]
    .map((e) => e.shadowRoot && e.shadowRoot.querySelector(".cxr-frame img")).find(Boolean);
  window.cxrBench = {
    down: 0,
    image: () => document.querySelector("[data-testid='stImage'] img") || inShadow() || null,
  };
  document.addEventListener("keydown", () => { window.cxrBench.down = performance.now(); }, true);
  document.addEventListener("pointerdown", () => { window.cxrBench.down = performance.now(); }, true);
}
"""
_IMAGE_SRC = "() => { const img = window.cxrBench.image(); return img ? img.getAttribute('src') : null; }"
_SHOWN_SINCE = """
([old]) => {
  const img = window.cxrBench.image();
  if (!img || img.getAttribute("src") === old || !img.complete || !img.naturalWidth) return false;
  return performance.now() - window.cxrBench.down;
}
"""
_CARD_SHOWS = """
([marker, count]) => {
  const cards = [...document.querySelectorAll("[class*='st-key-flag_card_']")];
  const shown = cards.filter((card) => card.innerText.includes(marker)).length;
  return shown >= count ? performance.now() - window.cxrBench.down : false;
}
"""
_ON_SCREEN = """
() => {
  const img = window.cxrBench.image();
  if (!img) return null;
  const box = img.getBoundingClientRect();
  return box.top >= 0 && box.left >= 0 && box.bottom <= window.innerHeight && box.right <= window.innerWidth;
}
"""


def _load() -> str:
    return "load average {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def _figure(name: str, samples: list[float], target: str) -> str:
    if not samples:
        return f"{name}: not available"
    return (
        f"{name}: median {statistics.median(samples):.0f} ms, p95 {_p95(samples):.0f} ms, "
        f"max {max(samples):.0f} ms over {len(samples)} ({target})"
    )


def measure(url: str, size: tuple[int, int], decisions: int, opens: int, switches: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    decide_ms: list[float] = []
    open_ms: list[float] = []
    preset_ms: list[float] = []
    on_screen: list[bool] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        page.set_default_timeout(60_000)
        page.goto(f"{url}/review?reviewer={REVIEWER}")
        page.evaluate(_INSTALL)
        page.wait_for_function(_IMAGE_SRC)
        page.wait_for_timeout(1500)  # the first open: decoding, fonts, the component's script
        on_screen.append(bool(page.evaluate(_ON_SCREEN)))
        accepted = f"Accepted by {REVIEWER}"
        shown = 0

        def next_case() -> None:
            old = page.evaluate(_IMAGE_SRC)
            page.mouse.move(size[0] - 5, size[1] // 2)  # nowhere near a text box
            page.keyboard.press("j")
            took = page.wait_for_function(_SHOWN_SINCE, arg=[old], polling="raf").json_value()
            open_ms.append(float(took))
            page.wait_for_timeout(300)
            on_screen.append(bool(page.evaluate(_ON_SCREEN)))

        guard = 0
        while len(decide_ms) < decisions and guard < 200:
            guard += 1
            if (
                page.locator(FOCUSED_CARD).count() == 0
                or page.locator(FOCUSED_CARD).first.inner_text().find(accepted) >= 0
            ):
                next_case()
                shown = page.evaluate(f"() => document.body.innerText.split({accepted!r}).length - 1")
                continue
            page.keyboard.press("a")
            took = page.wait_for_function(_CARD_SHOWS, arg=[accepted, shown + 1], polling="raf").json_value()
            decide_ms.append(float(took))
            shown += 1
            page.wait_for_timeout(250)
        while len(open_ms) < opens:
            next_case()
        presets = page.get_by_role("radio", name="Lung", exact=True)
        if presets.count():
            names = ["Lung", "Bone/soft tissue", "Inverted", "Default"]
            for index in range(switches):
                old = page.evaluate(_IMAGE_SRC)
                page.get_by_role("radio", name=names[index % len(names)], exact=True).click()
                took = page.wait_for_function(_SHOWN_SINCE, arg=[old], polling="raf").json_value()
                preset_ms.append(float(took))
                page.wait_for_timeout(250)
        browser.close()
    return {"decide": decide_ms, "open": open_ms, "preset": preset_ms, "on_screen": on_screen}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decisions", type=int, default=12)
    parser.add_argument("--opens", type=int, default=12, help="cases opened with j after the first")
    parser.add_argument("--switches", type=int, default=8, help="window preset switches")
    parser.add_argument("--size", default="1280x720", help="the browser's viewport, WIDTHxHEIGHT")
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose app is measured")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="cxr-bench-browser-") as scratch:
        folder = Path(scratch)
        db, _ = demo_db(args.tree.resolve(), folder)
        with streamlit_app(db, folder / "server.log", args.tree.resolve()) as url:
            print(f"app: {args.tree.resolve()}; Chromium {CHROMIUM} at {width}x{height}; before: {_load()}")
            started = time.perf_counter()
            found = measure(url, (width, height), args.decisions, args.opens, args.switches)
    on_screen = found["on_screen"]
    assert isinstance(on_screen, list)
    print(f"after: {_load()} ({time.perf_counter() - started:.0f} s in the browser)")
    print(_figure("key a to the card showing the decision", found["decide"], "target p50 <= 150, p95 <= 250"))  # type: ignore[arg-type]
    print(f"Review image wholly on screen when the case arrives: {sum(on_screen)} of {len(on_screen)} cases")
    print(_figure("key j to the next case's image shown", found["open"], "target <= 1000 ms after the first"))  # type: ignore[arg-type]
    print(_figure("window preset switch to the image shown", found["preset"], "target <= 300 ms"))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
