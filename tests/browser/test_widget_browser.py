"""The widget in headless Chromium: what a customer on the store's page actually sees and does."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_app
from tests.fakes.server import serving
from tests.helpers import fast_settings

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
# Flags for a sandboxed machine with no network: no GPU, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture
async def page(kb_folder: Path, tmp_path: Path) -> AsyncIterator[tuple[Any, str]]:
    if not HAVE_CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required for the browser tests in CI (make test installs it)")
        pytest.skip("Chromium is not installed")
    from playwright.async_api import async_playwright

    settings = fast_settings(kb_folder, tmp_path / "var")
    async with serving(create_app(settings)) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1200, "height": 800})
        page = await context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.dialogs = dialogs  # type: ignore[attr-defined]
        await page.goto(url + "/")
        yield page, url
        await browser.close()


def widget(page: Any, selector: str) -> Any:
    # Playwright's CSS engine pierces open shadow roots.
    return page.locator(f"{selector}")


async def ask(page: Any, text: str) -> None:
    await widget(page, "#sb-input").fill(text)
    await widget(page, "#sb-input").press("Enter")


async def test_a_customer_asks_clicks_a_quick_reply_and_keeps_history_after_reload(
    page: tuple[Any, str],
) -> None:
    browser_page, _ = page
    await widget(browser_page, "#sb-launcher").click()
    await ask(browser_page, "when will my parcel arrive")
    bot_bubbles = widget(browser_page, ".sb-msg.sb-bot")
    await bot_bubbles.filter(has_text="Standard shipping takes 3 to 5 business days").wait_for()

    await ask(browser_page, "xylophone zebra quartz")
    button = widget(browser_page, ".sb-choices button").filter(has_text="Talk to a person")
    await button.wait_for()
    await button.click()
    await bot_bubbles.filter(has_text="bringing in a person from our team").wait_for()

    ARTIFACTS.mkdir(exist_ok=True)
    await browser_page.screenshot(path=str(ARTIFACTS / "widget-conversation.png"))

    await browser_page.reload()
    await bot_bubbles.filter(has_text="Standard shipping takes 3 to 5 business days").wait_for()
    customer = widget(browser_page, ".sb-msg.sb-customer")
    texts = await customer.all_inner_texts()
    assert texts[:2] == ["when will my parcel arrive", "xylophone zebra quartz"]
    assert await bot_bubbles.filter(has_text="Standard shipping").count() == 1  # not duplicated by the reload


async def test_an_xss_payload_is_shown_as_text(page: tuple[Any, str]) -> None:
    browser_page, _ = page
    await widget(browser_page, "#sb-launcher").click()
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    await ask(browser_page, payload)
    mine = widget(browser_page, ".sb-msg.sb-customer").filter(has_text="<img src=x")
    await mine.wait_for()
    assert (await mine.inner_text()).strip() == payload
    await widget(browser_page, ".sb-msg.sb-bot").nth(1).wait_for()
    assert await browser_page.locator("img[src=x]").count() == 0
    assert browser_page.dialogs == []  # type: ignore[attr-defined]


async def test_keyboard_only_and_mobile_layout(page: tuple[Any, str]) -> None:
    browser_page, _ = page
    await browser_page.set_viewport_size({"width": 375, "height": 700})
    await widget(browser_page, "#sb-launcher").focus()
    await browser_page.keyboard.press("Enter")
    # Opening the panel moves the focus to the input; type only once it is there (a busy machine
    # may take a moment), as a keyboard user would.
    from playwright.async_api import expect

    await expect(widget(browser_page, "#sb-input")).to_be_focused()
    await browser_page.keyboard.type("Do gift cards expire?")
    await browser_page.keyboard.press("Enter")
    await widget(browser_page, ".sb-msg.sb-bot").filter(has_text="never expire").wait_for()
    box = await widget(browser_page, "#sb-panel").bounding_box()
    assert box is not None and box["width"] >= 370  # full width on a phone
    ARTIFACTS.mkdir(exist_ok=True)
    await browser_page.screenshot(path=str(ARTIFACTS / "widget-mobile.png"))
    await browser_page.keyboard.press("Escape")
    assert await widget(browser_page, "#sb-launcher").evaluate("el => el.getRootNode().activeElement === el")
