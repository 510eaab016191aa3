"""Five visitors at once on a public-mode server (loopback only, bounded in time).

Each visitor, in their own browser context (their own cookies, as five people would be), opens the
app, uploads their own zip, checks that no other visitor's data shows, then trains on the built-in
digits and gets their own result. The trainings queue (one at a time on a small CPU) and show their
place in line. Reported, not asserted as timings: the server's peak memory and the slowest page
response, in tests/artifacts/load.txt.
"""
import asyncio
import io
import os
import time
import zipfile
from pathlib import Path

from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from tests import test_browser
from tests.browser_helpers import ARGS, CHROMIUM, IDLE, peak_rss_mb
from tests.conftest import ROOT, image_bytes, streamlit_app

pytestmark = test_browser.pytestmark  # skipped, with the reason, without a browser

VISITORS = int(os.environ.get("LOAD_VISITORS", 5))
ARTIFACTS = ROOT / "tests" / "artifacts"


def visitor_zip(i: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in (f"alpha{i}", f"beta{i}"):
            for k in range(6):
                archive.writestr(f"{name}/{k}.png", image_bytes(size=(24, 24)))
    return out.getvalue()


class Timings:
    def __init__(self) -> None:
        self.responses: list[tuple[float, str]] = []

    async def step(self, page, what: str, action) -> None:
        """Do `action`, then wait until the page has finished running: one page response."""
        started = time.monotonic()
        await action()
        try:  # the run this action started (a busy server may take a moment to begin it)
            await page.wait_for_selector('[data-testid="stApp"][data-test-script-state="running"]', timeout=3_000)
        except PlaywrightTimeout:
            pass
        await page.wait_for_selector(IDLE, timeout=180_000)
        self.responses.append((time.monotonic() - started, what))


async def visit(browser, url: str, i: int, timings: Timings, zips: Path) -> dict:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(180_000)
    nav = page.locator('[data-testid="stSidebarNav"]')
    await timings.step(page, "open the app", lambda: page.goto(url))
    await timings.step(page, "Data page", lambda: nav.get_by_role("link", name="1. Data").click())
    await timings.step(page, "Your images", lambda: page.get_by_text("Your images", exact=True).click())
    assert await page.get_by_text("Local folder").count() == 0, "public mode shows no server folders"
    await page.get_by_role("tab", name="Upload a .zip").click()
    await page.locator('[data-testid="stFileUploader"]').filter(has_text="Zip archive").locator(
        '[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(zips / f"visitor{i}.zip"))
    await page.get_by_role("button", name="Load the archive").wait_for()
    await timings.step(page, "load a zip", lambda: page.get_by_role("button", name="Load the archive").click())
    await page.get_by_text(f"Current dataset: visitor{i}").wait_for()
    text = await page.locator('[data-testid="stApp"]').inner_text()
    others = [j for j in range(VISITORS) if j != i and (f"visitor{j}" in text or f"alpha{j}" in text)]
    await timings.step(page, "Built-in", lambda: page.get_by_text("Built-in (offline)", exact=True).click())
    await timings.step(page, "choose digits", lambda: page.get_by_text("scikit-learn digits", exact=False).click())
    await timings.step(page, "use digits", lambda: page.get_by_role("button", name="Use this dataset").click())
    await page.get_by_text("Current dataset: digits").wait_for()
    await timings.step(page, "Train page", lambda: nav.get_by_role("link", name="3. Train").click())
    epochs = page.get_by_role("spinbutton", name="Epochs")
    await epochs.fill("2")
    await timings.step(page, "set epochs", lambda: epochs.press("Enter"))
    await timings.step(page, "start", lambda: page.get_by_role("button", name="Start training").click())
    place = await page.locator('[data-testid="stProgress"]').first.inner_text()
    await page.screenshot(path=str(ARTIFACTS / f"load_visitor{i}_started.png"))
    started = time.monotonic()
    try:
        await page.get_by_text("Held-out pretext accuracy").wait_for(timeout=float(os.environ.get("LOAD_WAIT_MS", 400_000)))
    finally:
        await page.screenshot(path=str(ARTIFACTS / f"load_visitor{i}_end.png"))
    accuracy = await page.locator('[data-testid="stMetric"]').first.inner_text()
    result = {"visitor": i, "saw_others": others, "place": place, "accuracy": accuracy,
              "url": page.url, "waited_and_trained_s": time.monotonic() - started}
    await context.close()
    return result


async def crowd(url: str, zips: Path, timings: Timings) -> list[dict]:

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            return await asyncio.wait_for(
                asyncio.gather(*(visit(browser, url, i, timings, zips) for i in range(VISITORS))), timeout=900)
        finally:
            await browser.close()


def test_five_visitors_at_once_each_get_their_own_results(tmp_path):
    for i in range(VISITORS):
        (tmp_path / f"visitor{i}.zip").write_bytes(visitor_zip(i))
    timings = Timings()
    with streamlit_app(tmp_path / "streamlit.log", SSL_PLAYGROUND_PUBLIC="1") as (url, process):
        started = time.monotonic()
        results = asyncio.run(crowd(url, tmp_path, timings))
        seconds = time.monotonic() - started
        peak = peak_rss_mb(process.pid)
    log = (tmp_path / "streamlit.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    for result in results:
        assert result["saw_others"] == [], result  # nobody sees another visitor's data
        assert "%" in result["accuracy"], result
        assert "session=" in result["url"] and "train=" not in result["url"]
    assert len({r["url"] for r in results}) == VISITORS  # five sessions, five tokens
    assert any("in line" in r["place"] for r in results), [r["place"] for r in results]  # the queue showed
    slowest = max(timings.responses)
    report = (f"{VISITORS} visitors at once, public mode, {seconds:.0f} s in all\n"
              f"server peak memory: {peak:,.0f} MB\n"
              f"slowest page response: {slowest[0]:.1f} s ({slowest[1]})\n"
              f"median page response: {sorted(t for t, _ in timings.responses)[len(timings.responses) // 2]:.2f} s "
              f"over {len(timings.responses)} responses\n"
              + "".join(f"visitor {r['visitor']}: first saw '{r['place']}', queued and trained in "
                        f"{r['waited_and_trained_s']:.0f} s, {r['accuracy'].splitlines()[-1]}\n" for r in results))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "load.txt").write_text(report)
    print(report)
