"""The operator console end to end in a real headless Chromium: sign in, see a live call
appear, open it, watch its turns arrive, read the summary, export, search. Screenshots are
saved as the test's artifacts (their paths are printed)."""

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.browser import Browser, open_browser
from tests.callserver import running_server
from twins.twilio import Hangup, Interrupt, Speak, WaitForGreeting, WaitForReply

SCRIPT = (
    WaitForGreeting(timeout=30),
    Speak(1.6, seed=1),
    WaitForReply(timeout=30),
    Speak(1.2, seed=2),
    Interrupt(after_ms=900, speak_s=1.2, timeout=30, seed=3),
    WaitForReply(timeout=30),
    Hangup(),
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    yield from open_browser(downloads)


def _visible(element_id: str) -> Callable[[WebDriver], bool]:
    return lambda driver: driver.find_element(By.ID, element_id).is_displayed()


async def test_the_console_follows_a_live_call(tmp_path: Path, browser: Browser) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    async with running_server(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}") as server:
        token = server.api_token
        await browser.run(lambda d: d.get(server.base_url + "/console"))
        await browser.until(_visible("sign-in-view"), "the sign-in form")

        # A wrong token is refused, a right one signs in; it never appears in the address.
        def sign_in(given: str) -> None:
            field = browser.driver.find_element(By.ID, "token")
            field.clear()
            field.send_keys(given, Keys.ENTER)

        await browser.run(lambda d: sign_in("not-the-token"))
        await browser.until(
            lambda d: "refused" in d.find_element(By.ID, "sign-in-error").text, "the refusal"
        )
        await browser.run(lambda d: sign_in(token))
        await browser.until(_visible("list-view"), "the call list")
        await browser.until(
            lambda d: d.find_element(By.ID, "list-status").text == "No calls match.",
            "the empty list",
        )

        call = asyncio.create_task(server.place(SCRIPT))
        row = await _call_row(browser)
        call_sid = row.get_attribute("data-call-sid")
        assert not call.done(), "the call appeared in the list while it was going on"
        assert "in progress" in row.text

        # Open it from the keyboard.
        await browser.run(lambda d: row.find_element(By.TAG_NAME, "a").send_keys(Keys.ENTER))
        await browser.until(_visible("call-view"), "the call page")
        await browser.until(lambda d: _turns(d) >= 1, "a turn of the call")
        live_turns = await browser.run(_turns)
        assert not call.done(), "turns appeared while the call was going on"
        await browser.screenshot(shots / "call-live.png")

        result = await call
        transcript = await server.finished_transcript(result.call_sid)
        await browser.until(
            lambda d: "The call ended." in d.find_element(By.ID, "transcript").text, "the end"
        )
        await browser.until(lambda d: _turns(d) == len(transcript.turns), "every turn")
        await browser.until(
            lambda d: "The caller spoke" in d.find_element(By.ID, "summary").text, "the summary"
        )
        page = await browser.run(lambda d: d.find_element(By.ID, "call-view").text)
        interrupted = [turn for turn in transcript.turns if turn.interrupted]
        assert interrupted, "the caller talked over the agent"
        assert "interrupted by the caller" in page
        assert interrupted[0].heard_text and interrupted[0].heard_text in page
        assert "caller hung up" in page
        shot = await browser.screenshot(shots / "call.png")
        docs = os.environ.get("CONSOLE_SCREENSHOT")  # where the README's picture is refreshed
        if docs:
            await asyncio.to_thread(shutil.copyfile, shot, docs)

        # Export the WebVTT: the browser downloads it with the token, not through the URL.
        await browser.run(
            lambda d: d.find_element(By.XPATH, "//button[text()='Download WebVTT']").click()
        )
        vtt = browser.downloads / f"{call_sid}.vtt"
        await browser.until(lambda d: vtt.exists() and vtt.stat().st_size > 0, "the download")
        assert (await asyncio.to_thread(vtt.read_text)).startswith("WEBVTT")

        # Search what was said, then something nobody said.
        await browser.run(lambda d: d.find_element(By.LINK_TEXT, "← All calls").click())
        await browser.until(_visible("list-view"), "the call list again")
        words = next(turn.text for turn in transcript.turns if turn.speaker == "caller")
        await _search(browser, words.split()[-1].strip("?.,!"))
        await browser.until(lambda d: _rows(d) == [call_sid], "the call found by its words")
        await _search(browser, "zebra crossing quartz")
        await browser.until(
            lambda d: d.find_element(By.ID, "list-status").text == "No calls match.",
            "nothing found",
        )
        await browser.screenshot(shots / "search.png")
        url = await browser.run(lambda d: d.current_url)
        stored = await browser.run(
            lambda d: d.execute_script("return sessionStorage.getItem('telephony.apiToken')")
        )

    assert token not in url
    assert stored == token
    assert live_turns >= 1


async def _call_row(browser: Browser) -> WebElement:
    found = await browser.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#calls tbody tr[data-call-sid]"),
        "the live call in the list",
    )
    row: WebElement = found[0]
    return row


def _turns(driver: WebDriver) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, "#transcript li[data-seq]"))


def _rows(driver: WebDriver) -> list[str | None]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#calls tbody tr[data-call-sid]")
    return [row.get_attribute("data-call-sid") for row in rows]


async def _search(browser: Browser, words: str) -> None:
    def search(driver: WebDriver) -> None:
        field = driver.find_element(By.ID, "f-q")
        field.clear()
        field.send_keys(words, Keys.ENTER)

    await browser.run(search)
