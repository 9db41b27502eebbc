"""`alertbot sandbox` in a real browser: Playwright drives Debian's Chromium (headless) through the page.

The sandbox runs as a real process (`python -m alertbot sandbox`), exactly as a newcomer starts it. A resident
subscribes with buttons, the duty officer composes an extreme gas-leak warning and requests approval, the
supervisor approves, the resident receives it, the side panel counts every simulated recipient at the token's
pace, and the officer's "Sent in error" reaches the resident. A screenshot of each step is written under
`test-output/<test>/` at the repository's top (kept after the run; git ignores it).

Without Chromium (`/usr/bin/chromium`, Debian's package `chromium`) the test is skipped with the reason, except
under CI, where it fails: `.ci/run` installs the package.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import pytest

from alertbot.config import load_config
from alertbot.sandbox.people import draw_population
from tests.harness import EXAMPLE_CONFIG, REPO, free_port, in_ci, process_environment

playwright_api = pytest.importorskip("playwright.async_api")
async_playwright, expect, Page = playwright_api.async_playwright, playwright_api.expect, playwright_api.Page

CHROMIUM = os.environ.get("ALERTBOT_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
RESIDENTS = 400  # the simulated population: enough to watch the pace, few enough to subscribe in seconds
SEED = 2023
STEP = 20_000  # ms: what one step in the browser may take
GAS_LEAK = ("Beier Road No. 12", "96177", "Crews are on site.")


def _require_chromium() -> None:
    if Path(CHROMIUM).is_file():
        return
    reason = f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


@contextlib.asynccontextmanager
async def sandbox_process(folder: Path, port: int) -> AsyncIterator[str]:
    """`alertbot sandbox` as a process: yields the page's URL once it said so on stderr."""
    log = (folder / "sandbox.log").open("wb")
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alertbot", "sandbox", "--config", str(EXAMPLE_CONFIG), "--port", str(port),
        "--residents", str(RESIDENTS), "--seed", str(SEED), "--folder", str(folder / "sandbox"),
        cwd=REPO, env=process_environment(ALERTBOT_TELEGRAM_TOKEN="123:must-not-be-used"),
        stdout=log, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        line = await asyncio.wait_for(process.stderr.readline(), 30)
        assert b"alertbot sandbox: open http://127.0.0.1:" in line, line + await process.stderr.read(4000)
        print(f"sandbox ready in {time.monotonic() - started:.1f} s")
        drain = asyncio.create_task(_copy(process.stderr, log))
        yield f"http://127.0.0.1:{port}/"
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        with contextlib.suppress(NameError):
            await drain
        log.close()
    assert process.returncode == 0, (folder / "sandbox.log").read_text(errors="replace")[-4000:]


async def _copy(stream: asyncio.StreamReader, sink: BinaryIO) -> None:
    while chunk := await stream.read(65536):
        sink.write(chunk)


class Browser:
    """The page, driven as a person would, with a screenshot of each step."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.step = 0

    async def shot(self, name: str) -> None:
        self.step += 1
        await self.page.screenshot(path=str(self.shots / f"{self.step:02d}-{name}.png"), full_page=True)

    async def be(self, persona: str) -> None:
        await self.page.get_by_test_id(f"persona-{persona}").click()
        await expect(self.page.get_by_test_id(f"persona-{persona}")).to_have_attribute("aria-pressed", "true")

    def bot_messages(self):  # type: ignore[no-untyped-def]
        return self.page.get_by_test_id("messages").locator('[data-testid="message"][data-from="bot"]')

    async def say(self, text: str) -> None:
        before = await self.bot_messages().count()
        await self.page.get_by_test_id("composer-input").fill(text)
        await self.page.get_by_test_id("composer-send").click()
        await expect(self.bot_messages()).not_to_have_count(before, timeout=STEP)

    async def tap(self, button: str, *, exact: bool = True) -> None:
        buttons = self.page.get_by_test_id("messages").get_by_test_id("inline-button")
        target = buttons.filter(has_text=re.compile("^" + re.escape(button) + ("$" if exact else ""))).last
        await target.click(timeout=STEP)

    async def wait_for_text(self, text: str) -> str:
        """The text of the latest bot message that contains *text*, once there is one."""
        found = self.bot_messages().filter(has=self.page.get_by_test_id("message-text").filter(has_text=text)).last
        await expect(found).to_be_visible(timeout=STEP)
        return await found.get_by_test_id("message-text").inner_text()

    async def number(self, test_id: str) -> int:
        return int(await self.page.get_by_test_id(test_id).inner_text())


def expected_reach() -> tuple[int, int]:
    """(delivered, blocked) of a warning to Heping: the simulated people there who kept the bot, and the rest,
    plus the resident persona, who subscribes in the test."""
    districts = [district.id for district in load_config(EXAMPLE_CONFIG).districts]
    heping = [person for person in draw_population(RESIDENTS, districts, SEED) if "heping" in person.districts]
    active = sum(1 for person in heping if person.fate == "active")
    return active + 1, len(heping) - active


async def test_a_drill_in_the_browser_from_subscribing_to_sent_in_error(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _require_chromium()
    shots = REPO / "test-output" / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    delivered_expected, blocked_expected = expected_reach()
    async with sandbox_process(tmp_path, free_port()) as url, async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = await chromium.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        browser = Browser(page, shots)
        try:
            await page.goto(url)
            await expect(page.get_by_test_id("sandbox-banner")).to_contain_text("SANDBOX")
            await expect(page.get_by_test_id("population")).to_have_attribute("data-ready", "true", timeout=90_000)
            await browser.shot("population-subscribed")
            await page.get_by_test_id("ui-language").click()  # the page's own texts in the other language
            await expect(page.get_by_test_id("panel")).to_contain_text("实时情况")
            await page.get_by_test_id("ui-language").click()
            await expect(page.get_by_test_id("panel")).to_contain_text("Live")

            # A resident of Heping subscribes to two districts with the buttons (in Chinese: their Telegram's language)
            await browser.be("resident")
            await browser.say("/start")
            await browser.tap("🏠 居民")
            await browser.tap("和平区")
            await expect(page.locator('[data-testid="popup"]:visible')).to_contain_text("和平区")  # the tap's pop-up
            await browser.tap("铁西区")
            await browser.tap("✔️ 完成")
            subscribed = await browser.wait_for_text("铁西区")
            assert "和平区" in subscribed
            await browser.shot("resident-subscribed")

            # The duty officer composes a gas-leak warning from the command menu, and previews it
            await browser.be("officer")
            await page.get_by_test_id("command-menu-toggle").click()
            await page.locator('[data-testid="command"][data-command="alert"]').click()
            await browser.tap("Gas leak", exact=False)
            for answer in GAS_LEAK:
                await browser.say(answer)
            await browser.tap("Heping")
            await browser.tap("✔️ Done")
            await browser.tap("Everyone")
            await browser.tap("🔴 Extreme")
            await browser.tap("🔴 Live")
            zh_preview = await browser.wait_for_text("燃气泄漏")
            request_button = page.get_by_test_id("inline-button").filter(has_text="🛂 Request approval").last
            recipients = int(re.findall(r"\d+", await request_button.inner_text())[-1])
            assert recipients == delivered_expected + blocked_expected
            await browser.shot("officer-preview")
            await request_button.click()
            waiting = await browser.wait_for_text("waits for a supervisor's approval")
            number = re.search(r"#(\d+)", waiting)
            assert number, waiting
            await browser.shot("officer-requested-approval")

            # The supervisor approves
            await browser.be("supervisor")
            await browser.wait_for_text(f"#{number.group(1)}")
            await browser.tap("✅ 批准")  # in the bot's default language: the supervisor has not written to it yet
            await browser.wait_for_text("approved by")  # the tap came from an English Telegram app
            await browser.shot("supervisor-approved")

            # The resident receives exactly the preview; the panel counts every simulated recipient, at the pace
            await browser.be("resident")
            assert await browser.wait_for_text("燃气泄漏") == zh_preview
            paces: list[int] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                paces.append(await browser.number("panel-pace"))
                if await browser.number("panel-pending") == 0 and await browser.number("panel-delivered") > 0:
                    break
                await asyncio.sleep(0.25)
            assert await browser.number("panel-recipients") == recipients
            assert await browser.number("panel-delivered") == delivered_expected
            assert await browser.number("panel-blocked") == blocked_expected
            limit = await browser.number("panel-limit")
            assert limit == 30 and max(paces) <= limit, paces
            await expect(page.get_by_test_id("panel-channel-post")).to_have_count(2)  # Heping's Chinese and English
            await expect(page.get_by_test_id("panel-status")).to_have_text("done", timeout=STEP)
            await expect(page.get_by_test_id("panel-progress")).to_contain_text(
                f"#{number.group(1)} Gas leak (LIVE) finished"
            )
            await browser.shot("resident-received-and-panel")

            # The officer sends "Sent in error" from the final report; it reaches the resident
            await browser.be("officer")
            await browser.tap("⛔ Sent in error")
            await browser.tap("🔴 SEND LIVE", exact=False)
            await browser.wait_for_text("is being sent")
            await browser.shot("officer-sent-in-error")
            await browser.be("resident")
            correction = await browser.wait_for_text("误发更正")
            assert "请忽略“燃气泄漏”" in correction
            await browser.shot("resident-received-correction")
            assert errors == [], errors
        except BaseException:
            await browser.shot("failed-here")
            raise
        finally:
            await chromium.close()
