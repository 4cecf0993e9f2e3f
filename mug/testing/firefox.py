"""Debian's Firefox ESR for tests, driven over WebDriver BiDi by `puppeteer-core` in a Node.js subprocess.

Playwright cannot drive a stock Firefox, and Debian has no geckodriver; puppeteer-core (pinned in the
repository's package.json, installed by `make node`) speaks WebDriver BiDi to `firefox-esr` itself. The
Node side is `firefox_driver.mjs` (its protocol is in its header); here a `Firefox` holds that process and
hands out `FirefoxPage`s with the few Playwright-like calls the tests use.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

FIREFOX = Path("/usr/bin/firefox-esr")
DRIVER = Path(__file__).with_name("firefox_driver.mjs")
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
START_TIMEOUT_S = 60.0  # Firefox's first start on a busy machine (a fresh profile) takes several seconds


class FirefoxError(RuntimeError):
    """The driver refused a request, or the browser could not be started."""


def missing() -> str | None:
    """Why Firefox cannot be driven here (a sentence), or None when it can."""
    if not FIREFOX.exists():
        return f"needs Debian firefox-esr at {FIREFOX} (apt-get install firefox-esr)"
    if shutil.which("node") is None:
        return "needs Node.js to run puppeteer-core"
    if not (NODE_MODULES / "puppeteer-core").is_dir():
        return f"needs puppeteer-core in {NODE_MODULES} (make node)"
    return None


class Firefox:
    """One headless Firefox ESR and its driver process; `with Firefox() as ff: page = ff.new_page()`.

    Args:
        timeout_s: how long one request may take before the driver is considered stuck.
    """

    def __init__(self, timeout_s: float = 120.0) -> None:
        reason = missing()
        if reason is not None:
            raise FirefoxError(reason)
        self.timeout_s = timeout_s
        self.log: list[str] = []  # the pages' console messages and errors, tagged with the page id
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._next = 0
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            ["node", str(DRIVER), str(FIREFOX)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            ready = self._replies.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            self.close()
            raise FirefoxError(f"Firefox did not start within {START_TIMEOUT_S} s") from None
        if ready.get("event") != "ready":
            self.close()
            raise FirefoxError(f"Firefox did not start: {ready.get('error')}")
        self.version: str = ready["version"]

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                self.log.append(f"driver: {line.rstrip()}")
                continue
            if message.get("event") in ("console", "pageerror"):
                self.log.append(f"[{message['page']}] {message['event']}: {message['text']}")
            else:
                self._replies.put(message)
        stderr = self._proc.stderr.read() if self._proc.stderr else ""
        self._replies.put({"id": None, "event": "exit", "ok": False, "error": f"the driver exited: {stderr[-2000:]}"})

    def request(self, op: str, **args: Any) -> Any:
        """Send one request to the driver and return its value (raises FirefoxError on a refusal)."""
        with self._lock:
            self._next += 1
            rid = self._next
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.write(json.dumps({"id": rid, "op": op, **args}) + "\n")
                self._proc.stdin.flush()
            except BrokenPipeError:
                raise FirefoxError("the Firefox driver is gone") from None
            while True:
                try:
                    reply = self._replies.get(timeout=self.timeout_s)
                except queue.Empty:
                    raise FirefoxError(f"{op}: no answer within {self.timeout_s} s") from None
                if reply.get("event") == "exit":
                    raise FirefoxError(f"{op}: {reply['error']}")
                if reply.get("id") == rid:
                    break
        if not reply["ok"]:
            raise FirefoxError(f"{op}: {reply['error']}")
        return reply["value"]

    def new_page(self) -> FirefoxPage:
        """A page in a browser context of its own (its own localStorage)."""
        return FirefoxPage(self, int(self.request("newPage")))

    def close(self) -> None:
        """Close the browser (the driver ends when its input closes) and wait for it."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=5)
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> Firefox:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class Keyboard:
    """A page's keyboard, by `KeyboardEvent.key` names ("ArrowLeft", " ")."""

    def __init__(self, page: FirefoxPage) -> None:
        self.page = page

    def down(self, key: str) -> None:
        self.page.browser.request("keyDown", page=self.page.id, key=key)

    def up(self, key: str) -> None:
        self.page.browser.request("keyUp", page=self.page.id, key=key)

    def press(self, key: str) -> None:
        self.page.browser.request("press", page=self.page.id, key=key)


class FirefoxPage:
    """One Firefox page, with Playwright-like calls (an expression is JavaScript source, evaluated in the page)."""

    def __init__(self, browser: Firefox, page_id: int) -> None:
        self.browser = browser
        self.id = page_id
        self.keyboard = Keyboard(self)

    def goto(self, url: str) -> None:
        self.browser.request("goto", page=self.id, url=url)

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """The JSON value of `expression`; given `arg`, the expression is a function called with it."""
        if arg is not None:
            expression = f"({expression})({json.dumps(arg)})"
        return self.browser.request("evaluate", page=self.id, expression=expression)

    def wait_for_function(self, expression: str, timeout: float = 30_000) -> None:
        """Wait until `expression` is truthy (`timeout` in ms, as in Playwright)."""
        self.browser.request("waitFor", page=self.id, expression=expression, timeout_ms=timeout)

    def wait_for_selector(self, selector: str, timeout: float = 30_000) -> None:
        self.wait_for_function(f"document.querySelector({json.dumps(selector)}) !== null", timeout)

    def click(self, selector: str) -> None:
        self.browser.request("click", page=self.id, selector=selector)

    def text_content(self, selector: str) -> str | None:
        """The element's text, or None when no element matches."""
        found = self.evaluate(f"document.querySelector({json.dumps(selector)})?.textContent ?? null")
        return None if found is None else str(found)

    def close(self) -> None:
        self.browser.request("closePage", page=self.id)
