"""The local agent desk in headless Chromium: what an agent without Slack sees and does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import websockets

from bot.app import create_app
from tests.browser.test_widget_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM
from tests.fakes.server import serving
from tests.helpers import fast_settings

pytestmark = pytest.mark.browser
HOSTILE = 'I want to talk to a human <img src=x onerror="alert(1)"> <script>alert(2)</script>'
REPLY = "I've checked your order: it leaves our roastery today and arrives within 3 business days."


async def test_an_agent_claims_and_answers_a_widget_customer(kb_folder: Path, tmp_path: Path) -> None:
    if not HAVE_CHROMIUM:
        pytest.fail("Chromium is required for the browser tests (make test installs it)")
    from playwright.async_api import async_playwright

    data = tmp_path / "var"
    settings = fast_settings(kb_folder, data, business_hours="24/7", desk_password="counter-top-42")
    async with (
        serving(create_app(settings)) as url,
        async_playwright() as playwright,
        websockets.connect(url.replace("http", "ws") + "/widget/ws") as customer,
    ):
        await customer.send(json.dumps({"type": "hello", "token": None}))
        await customer.send(json.dumps({"type": "message", "text": HOSTILE}))
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        await page.goto(url + "/desk")
        await page.fill("#name", "Robin")
        await page.fill("#password", "counter-top-42")
        await page.click("button[type=submit]")
        await page.wait_for_selector("#tickets li button")
        await page.click("#tickets li button")
        await page.wait_for_selector("#claim:not([hidden])")
        await page.click("#claim")
        await page.wait_for_selector("#send:not([disabled])")
        await page.fill("#reply", REPLY)
        await page.click("#send")
        await page.locator("#thread").get_by_text(REPLY[:40]).wait_for()
        # The desk refreshes every few seconds: the reply shows as sent once the outbox delivered it.
        await page.locator("#thread").get_by_text("✓ delivered").wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "desk-ticket.png"))
        shown = await page.text_content("#detail") or ""
        # The customer's markup is shown as text, and nothing in it ran.
        assert '<img src=x onerror="alert(1)">' in shown and dialogs == []
        await browser.close()
        frames = []
        while not any(f.get("from") == "agent" for f in frames):
            frames.append(json.loads(await customer.recv()))
        agent = next(f for f in frames if f.get("from") == "agent")
        assert agent["text"] == REPLY and agent["agent"] == "Robin"
