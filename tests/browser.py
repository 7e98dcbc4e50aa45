"""A real headless Chromium for end-to-end tests, driven with Selenium.

The server under test runs in the test's own event loop, so every blocking WebDriver call goes
through a thread (`Browser.run`): the loop keeps serving while the browser waits on it.
"""

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

T = TypeVar("T")

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
WAIT_S = 60.0


def chromium_paths() -> tuple[str, str]:
    """Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them)."""
    binary = next((path for path in CHROMIUM if Path(path).exists()), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        reason = "chromium and chromium-driver are not installed (.ci/run installs them)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return binary, driver


class Browser:
    def __init__(self, driver: WebDriver, downloads: Path) -> None:
        self.driver = driver
        self.downloads = downloads

    async def run(self, action: Callable[[WebDriver], T]) -> T:
        return await asyncio.to_thread(action, self.driver)

    async def until(self, condition: Callable[[WebDriver], Any], what: str) -> Any:
        """Poll ``condition`` until it returns something truthy (WebDriver errors count as
        not yet); fail after ``WAIT_S`` saying ``what`` never happened."""
        try:
            async with asyncio.timeout(WAIT_S):
                while True:
                    try:
                        found = await self.run(condition)
                    except WebDriverException:
                        found = None
                    if found:
                        return found
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pytest.fail(f"the console never showed: {what}")

    async def screenshot(self, path: Path) -> Path:
        await self.run(lambda driver: driver.save_screenshot(str(path)))
        print(f"screenshot: {path}")  # noqa: T201 -- the test's artifact, for people to look at
        return path


def open_browser(downloads: Path) -> Iterator[Browser]:
    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,860"):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield Browser(driver, downloads)
    finally:
        driver.quit()
