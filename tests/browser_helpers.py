"""What the real-browser tests share: where Chromium is, waiting for Streamlit to settle, screenshots, the sidebar's pages."""
import os
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "tests" / "artifacts"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# The page list as it stands when the first spinner shows (a first visit times a few training steps).
NAV_AT_SPINNER = """
window.__navAtSpinner = null;
new MutationObserver(() => {
  if (window.__navAtSpinner !== null || !document.querySelector('[data-testid="stSpinner"]')) return;
  window.__navAtSpinner = Array.from(document.querySelectorAll('[data-testid="stSidebarNav"] a'),
                                     a => a.innerText.trim().split("\\n").pop());
}).observe(document, {childList: true, subtree: true});
"""


def idle(page, timeout: float = 60_000) -> None:
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def healthy(page, step: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{step}.png"))
    bottom = page.locator('[data-testid="stMainBlockContainer"] > div > div').last
    if bottom.count():
        bottom.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{step}_end.png"))
        page.mouse.wheel(0, -100_000)
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{step}: {errors.first.inner_text()}"


def go(page, link: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=link).click()
    idle(page)


def load_zip(page, archive: Path, name: str) -> None:
    """Data page → Your images → Upload a .zip → Load the archive, as a visitor does."""
    go(page, "1. Data")
    page.get_by_text("Your images", exact=True).click()
    idle(page)
    page.get_by_role("tab", name="Upload a .zip").click()
    page.locator('[data-testid="stFileUploader"]').filter(has_text="Zip archive").locator(
        '[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(archive))
    idle(page)
    page.get_by_role("button", name="Load the archive").click()
    page.get_by_text(f"Current dataset: {name}").wait_for()
    idle(page)


def chart_points(page) -> list[int]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .map(g => (g.data || []).reduce((n, t) => n + (t.x ? t.x.length : 0), 0))""")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for_text(page, text: str, timeout: float) -> None:
    page.get_by_text(text).first.wait_for(timeout=timeout)


def below_fold(page, locator, height: int) -> float:
    """How far the bottom of `locator` (its last match) reaches past the window's bottom edge, in px."""
    box = locator.last.bounding_box()
    return 0.0 if box is None else box["y"] + box["height"] - height


SIZES = ((1280, 720), (1920, 1080))  # a projector, a large screen


def at_both_sizes(page, step: str, main=None, settle_ms: int = 500) -> None:
    """Screenshots of `step` at 1280×720 and 1920×1080 with no exception shown; with `main` (a locator), it must
    be on screen above the fold at both. The window goes back to 1280×720 after."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(settle_ms)
        healthy(page, f"{step}_{width}")
        if main is not None:
            assert below_fold(page, main, height) <= 0, f"{step} at {width}"
    page.set_viewport_size({"width": 1280, "height": 720})


@contextmanager
def opened(playwright, url: str, width: int = 1280, height: int = 720, timeout_ms: int = 90_000, args=(), **context):
    """A Chromium page on `url` once the app is idle (`context`: Playwright's, e.g. permissions); the browser closes
    after, whatever happens."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS + list(args))
    try:
        page = browser.new_context(viewport={"width": width, "height": height}, **context).new_page()
        page.set_default_timeout(timeout_ms)
        page.goto(url)
        idle(page)
        yield page
    finally:
        browser.close()


def set_epochs(page, epochs: int) -> None:
    """The Train page's Epochs field (or the Downstream page's), as a person types it."""
    field = page.get_by_role("spinbutton", name="Epochs")
    field.fill(str(epochs))
    field.press("Enter")
    idle(page)


def train(page, epochs: int, timeout_ms: int = 180_000) -> None:
    """On the Train page: `epochs` epochs of pretext training, started and waited for to its result."""
    set_epochs(page, epochs)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Held-out pretext").first.wait_for(timeout=timeout_ms)
