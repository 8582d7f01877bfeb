"""Headless Chromium from the distribution's packages (``chromium`` and ``chromium-driver``, which
``make test-e2e`` apt-installs), driven through Selenium's WebDriver client, for the browser test.

Chromium starts offline-friendly (no background networking, component updates, sync or QUIC; the
machine has no internet) with a fresh profile. :meth:`Browser.close` quits it and then kills what is
left of chromedriver and of every Chromium process using that profile, so nothing outlives the test.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.e2e import processes

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


class Browser:
    """One headless Chromium session against one site, with explicit waits and numbered screenshots.

    :param base_url: the site's root, e.g. ``http://127.0.0.1:8080``
    :param screenshots: the folder for screenshots (emptied of earlier ones)
    :param timeout: seconds an explicit wait waits by default
    """

    def __init__(self, base_url: str, screenshots: Path, *, timeout: float = 30) -> None:
        for binary in (CHROMIUM, CHROMEDRIVER):
            if not Path(binary).is_file():
                raise RuntimeError(f"{binary} is missing: apt-get install chromium chromium-driver")
        self.base_url = base_url.rstrip("/")
        self.screenshots = screenshots
        self.timeout = timeout
        self._shots = 0
        screenshots.mkdir(parents=True, exist_ok=True)
        for old in screenshots.glob("*"):
            old.unlink()
        self.profile = Path(tempfile.mkdtemp(prefix="e2e-chromium-"))
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        # An explicit driver path: Selenium Manager (which would download a driver) never runs.
        self.service = Service(
            executable_path=CHROMEDRIVER, log_output=str(screenshots.parent / "chromedriver.log")
        )
        try:
            self.driver = webdriver.Chrome(options=options, service=self.service)
        except BaseException:
            self._kill_leftovers()
            raise
        self.driver.set_page_load_timeout(60)
        atexit.register(self.close)

    # ------------------------------------------------------------------ life cycle

    def close(self) -> None:
        """Quit Chromium and chromedriver; kill whatever of them is still running; drop the profile."""
        if not self.profile.exists():
            return
        with contextlib.suppress(Exception):
            self.driver.quit()
        self._kill_leftovers()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _kill_leftovers(self) -> None:
        driver = self.service.process
        family = processes.with_title(str(self.profile))
        if driver is not None:
            family += [driver.pid, *processes.descendants(driver.pid)]
        for _ in range(50):
            alive = processes.alive(family)
            if not alive:
                break
            processes.kill(alive)
            time.sleep(0.1)
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.wait(timeout=5)

    def leftovers(self) -> list[int]:
        """Chromium or chromedriver processes of this session still running (after :meth:`close`: none)."""
        pids = processes.with_title(str(self.profile))
        driver = self.service.process
        if driver is not None and driver.poll() is None:
            pids.append(driver.pid)
        return processes.alive(pids)

    # ------------------------------------------------------------------ driving

    def open(self, path: str) -> None:
        """Load a page of the site.

        :param path: the path under the root, e.g. ``/connections``
        """
        self.driver.get(self.base_url + path)

    def wait(self, condition: Callable[[Any], Any], what: str, timeout: float | None = None) -> Any:
        """Wait until ``condition(driver)`` is truthy and return it; fail naming ``what``.

        :param condition: a Selenium expected condition, or any callable taking the driver
        :param what: what is awaited, for the error
        :param timeout: seconds (default: the browser's)
        """
        wait = WebDriverWait(
            self.driver,
            self.timeout if timeout is None else timeout,
            poll_frequency=0.2,
            ignored_exceptions=(StaleElementReferenceException,),
        )
        return wait.until(condition, message=f"not seen: {what}")

    def maybe(self, condition: Callable[[Any], Any], timeout: float) -> Any:
        """Like :meth:`wait`, but None instead of an error when ``timeout`` passes.

        :param condition: takes the driver; truthy when done
        :param timeout: seconds
        """
        try:
            return self.wait(condition, "", timeout)
        except TimeoutException:
            return None

    def visible(self, xpath: str, timeout: float | None = None) -> WebElement:
        """Wait for the element at ``xpath`` to be visible and return it.

        :param xpath: an XPath
        :param timeout: seconds
        """
        located = expected_conditions.visibility_of_element_located((By.XPATH, xpath))
        element: WebElement = self.wait(located, xpath, timeout)
        return element

    def gone(self, xpath: str, timeout: float | None = None) -> None:
        """Wait until no element at ``xpath`` is visible (a dialog closed).

        :param xpath: an XPath
        :param timeout: seconds
        """
        self.wait(
            expected_conditions.invisibility_of_element_located((By.XPATH, xpath)), f"gone {xpath}", timeout
        )

    def click(self, xpath: str, timeout: float | None = None) -> None:
        """Wait for the element at ``xpath`` to be clickable and click it (again, if the page redrew it
        or an overlay took the click meanwhile).

        :param xpath: an XPath
        :param timeout: seconds
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        clickable = expected_conditions.element_to_be_clickable((By.XPATH, xpath))
        while True:
            element = self.wait(clickable, f"clickable {xpath}", max(0.5, deadline - time.monotonic()))
            try:
                element.click()
                return
            except (StaleElementReferenceException, ElementClickInterceptedException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def wait_reloading(
        self, condition: Callable[[Any], Any], what: str, timeout: float, every: float = 10
    ) -> Any:
        """Like :meth:`wait`, reloading the page each ``every`` seconds (for a state the page may not poll).

        :param condition: takes the driver; truthy when done
        :param what: what is awaited, for the error
        :param timeout: seconds in all
        :param every: seconds between reloads
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.wait(condition, what, min(every, max(0.5, deadline - time.monotonic())))
            except TimeoutException:
                if time.monotonic() > deadline:
                    raise
                self.driver.refresh()

    def fill(self, name: str, value: str) -> None:
        """Replace the text of the input called ``name`` (select all, delete, type) and check it took.

        :param name: the input's ``name`` attribute
        :param value: the text to type
        """
        field = self.visible(f"//*[@name={xpath_literal(name)}]")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.DELETE)
        field.send_keys(value)
        self.wait(lambda _d: field.get_attribute("value") == value, f"input {name} holding {value!r}")

    def text(self) -> str:
        """The page's visible text."""
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def wait_for_text(self, *fragments: str, any_of: bool = False, timeout: float | None = None) -> str:
        """Wait until the page shows every one (or, with ``any_of``, one) of ``fragments``; return its text.

        :param fragments: texts to look for
        :param any_of: one of them is enough
        :param timeout: seconds
        """
        found = any if any_of else all

        def shown(_driver: Any) -> str | None:
            text = self.text()
            return text if found(part in text for part in fragments) else None

        page: str = self.wait(shown, f"text {fragments}", timeout)
        return page

    def screenshot(self, name: str, element: WebElement | None = None) -> Path:
        """Save a numbered PNG of the window (or of one element) under the screenshot folder.

        :param name: what it shows, for the file name
        :param element: only this element, e.g. a dialog
        """
        self._shots += 1
        path = self.screenshots / f"{self._shots:02d}-{name}.png"
        if element is None:
            self.driver.save_screenshot(str(path))
        else:
            element.screenshot(str(path))
        return path

    def save_page(self, name: str) -> None:
        """Keep the page's HTML and a screenshot for reading after a failure (never raises).

        :param name: the file names' stem
        """
        with contextlib.suppress(WebDriverException, OSError):
            (self.screenshots / f"{name}.html").write_text(self.driver.page_source)
            self.driver.save_screenshot(str(self.screenshots / f"{name}.png"))


def xpath_literal(text: str) -> str:
    """``text`` as an XPath 1.0 string literal.

    :param text: text without both kinds of quote
    """
    return f"'{text}'" if "'" not in text else f'"{text}"'
