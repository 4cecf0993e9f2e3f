"""Debian's WebKitGTK (the Safari engine) for tests: `WebKitWebDriver` and Selenium, under an Xvfb of its own.

WebKitGTK's MiniBrowser refuses `--headless`, so `WebKit` starts an `Xvfb` on a free display (`-displayfd`)
and stops it with the browser. `WebKitPage` offers the same few Playwright-like calls as
`mug.testing.firefox.FirefoxPage`, so one test routine drives either browser.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

WEBKIT_DRIVER = Path("/usr/bin/WebKitWebDriver")
MINIBROWSER = Path("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
XVFB = "Xvfb"
XVFB_START_S = 15.0
POLL_S = 0.1
# KeyboardEvent.key names -> WebDriver key codes (selenium.webdriver.common.keys.Keys)
KEYS = {"ArrowLeft": "\ue012", "ArrowUp": "\ue013", "ArrowRight": "\ue014", "ArrowDown": "\ue015", " ": " "}


class WebKitError(RuntimeError):
    """WebKit could not be started, or a wait ran out."""


def missing() -> str | None:
    """Why WebKitGTK cannot be driven here (a sentence), or None when it can."""
    if not WEBKIT_DRIVER.exists() or not MINIBROWSER.exists():
        return f"needs Debian webkit2gtk-driver ({WEBKIT_DRIVER}, {MINIBROWSER}): apt-get install webkit2gtk-driver"
    if shutil.which(XVFB) is None:
        return "needs Xvfb (apt-get install xvfb): WebKitGTK's MiniBrowser has no headless mode"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs Python selenium (pip install -e '.[dev]')"
    return None


def _start_xvfb(attempts: int = 5) -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb on a free display, and that display's number.

    The display is picked here, not by Xvfb's `-displayfd` (under pytest Xvfb fails to write the number
    it picked to the pipe, "Cannot write display number", and exits): a number whose lock file is absent,
    and another one if Xvfb loses the race for it to another X server.
    """
    for _ in range(attempts):
        number = next(n for n in (random.randrange(100, 1000) for _ in range(100)) if not _x_lock(n).exists())
        xvfb = subprocess.Popen(
            [XVFB, f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + XVFB_START_S
        while xvfb.poll() is None and time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return xvfb, str(number)
            time.sleep(POLL_S)
        xvfb.kill()
        xvfb.wait()
    raise WebKitError(f"Xvfb did not start in {attempts} attempts")


def _x_lock(number: int) -> Path:
    return Path(f"/tmp/.X{number}-lock")


class WebKit:
    """One WebKitGTK MiniBrowser under a private Xvfb; `with WebKit() as wk: wk.page.goto(url)`.

    WebKitWebDriver drives one browser window per session, so a `WebKit` is one page (one participant).
    """

    def __init__(self) -> None:
        reason = missing()
        if reason is not None:
            raise WebKitError(reason)
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        self._xvfb, display = _start_xvfb()
        options = Options()
        options.binary_location = str(MINIBROWSER)
        options.add_argument("--automation")
        service = Service(executable_path=str(WEBKIT_DRIVER), env={**os.environ, "DISPLAY": f":{display}"})
        try:
            with warnings.catch_warnings():
                # selenium 4.51's own WebKitGTK driver still passes remote_server_addr, which it deprecates
                warnings.filterwarnings("ignore", "setting remote_server_addr", DeprecationWarning)
                self.driver = webdriver.WebKitGTK(options=options, service=service)
        except BaseException:
            self._stop_xvfb()
            raise
        self.version: str = str(self.driver.capabilities.get("browserVersion"))
        self.page = WebKitPage(self.driver)

    def _stop_xvfb(self) -> None:
        self._xvfb.terminate()
        try:
            self._xvfb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._xvfb.kill()
            self._xvfb.wait()

    def close(self) -> None:
        """End the WebDriver session (the browser closes) and stop Xvfb."""
        try:
            self.driver.quit()
        finally:
            self._stop_xvfb()

    def __enter__(self) -> WebKit:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class WebKitKeyboard:
    """Key presses through WebDriver actions, by `KeyboardEvent.key` names."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def _actions(self) -> Any:
        from selenium.webdriver.common.action_chains import ActionChains

        return ActionChains(self.driver)

    def down(self, key: str) -> None:
        self._actions().key_down(KEYS.get(key, key)).perform()

    def up(self, key: str) -> None:
        self._actions().key_up(KEYS.get(key, key)).perform()

    def press(self, key: str) -> None:
        self._actions().key_down(KEYS.get(key, key)).key_up(KEYS.get(key, key)).perform()


class WebKitPage:
    """The browser's page, with Playwright-like calls (an expression is JavaScript source)."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.keyboard = WebKitKeyboard(driver)

    def goto(self, url: str) -> None:
        self.driver.get(url)

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """The JSON value of `expression`; given `arg`, the expression is a function called with it."""
        if arg is not None:
            expression = f"({expression})({json.dumps(arg)})"
        # through JSON, so values come back as they would from Playwright (no WebElement wrappers)
        found = self.driver.execute_script(f"return JSON.stringify(({expression}) ?? null)")
        return None if found is None else json.loads(found)

    def wait_for_function(self, expression: str, timeout: float = 30_000) -> None:
        """Wait until `expression` is truthy (`timeout` in ms, as in Playwright)."""
        deadline = time.monotonic() + timeout / 1000
        while not self.evaluate(f"!!({expression})"):
            if time.monotonic() > deadline:
                raise WebKitError(f"waited {timeout / 1000:.0f} s for {expression}")
            time.sleep(POLL_S)

    def wait_for_selector(self, selector: str, timeout: float = 30_000) -> None:
        self.wait_for_function(f"document.querySelector({json.dumps(selector)}) !== null", timeout)

    def click(self, selector: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, selector).click()

    def text_content(self, selector: str) -> str | None:
        """The element's text, or None when no element matches."""
        found = self.evaluate(f"document.querySelector({json.dumps(selector)})?.textContent ?? null")
        return None if found is None else str(found)
