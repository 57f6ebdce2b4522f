"""A minimal W3C WebDriver client (over ``requests``) for headless Chromium.

Enough for the report page's tests and screenshots: start chromedriver, open a session, load a
URL, find elements by CSS, click, pick an <option>, run a script, read the browser log, take a
screenshot. Always used as a context manager, so the browser and the driver are stopped even
when a test fails::

    with Browser.start(width=1280, height=900) as browser:
        browser.get(path.as_uri())
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference


class WebDriverError(RuntimeError):
    pass


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) executables, or None when either is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Element:
    def __init__(self, browser: Browser, element_id: str) -> None:
        self.browser = browser
        self.id = element_id

    def _url(self, tail: str) -> str:
        return f"element/{self.id}/{tail}"

    def click(self) -> None:
        self.browser._call("POST", self._url("click"), {})

    @property
    def text(self) -> str:
        return str(self.browser._call("GET", self._url("text")))

    def attribute(self, name: str) -> str | None:
        value = self.browser._call("GET", self._url(f"attribute/{name}"))
        return None if value is None else str(value)

    def find(self, css: str) -> Element:
        found = self.browser._call("POST", self._url("element"), {"using": "css selector", "value": css})
        return Element(self.browser, found[ELEMENT])

    def find_all(self, css: str) -> list[Element]:
        found = self.browser._call("POST", self._url("elements"), {"using": "css selector", "value": css})
        return [Element(self.browser, e[ELEMENT]) for e in found]

    def select(self, visible_text: str) -> None:
        """Pick the <option> showing ``visible_text`` of this <select>, by clicking it."""
        for option in self.find_all("option"):
            if option.text.strip() == visible_text:
                self.click()
                option.click()
                return
        raise WebDriverError(f"no option {visible_text!r} in the select")

    def screenshot(self) -> bytes:
        """This element as PNG bytes."""
        return base64.b64decode(self.browser._call("GET", self._url("screenshot")))

    def as_arg(self) -> dict[str, str]:
        return {ELEMENT: self.id}


class Browser:
    """A chromedriver process and one headless Chromium session."""

    def __init__(self, chromium: str, driver: str, width: int = 1280, height: int = 900,
                 timeout: float = 30.0) -> None:
        self.chromium, self.driver_path = chromium, driver
        self.width, self.height, self.timeout = width, height, timeout
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.http.trust_env = False  # never through a proxy: the driver is on localhost
        self.process: subprocess.Popen[bytes] | None = None
        self.session: str | None = None

    @classmethod
    def start(cls, width: int = 1280, height: int = 900) -> Browser:
        """A started browser; pytest.skip when Chromium or chromedriver is not installed."""
        found = find_browser()
        if found is None:
            import pytest

            pytest.skip("needs chromium and chromedriver on PATH")
        browser = cls(*found, width=width, height=height)
        try:
            browser._launch()
        except BaseException:
            browser.close()
            raise
        return browser

    def _launch(self) -> None:
        self.process = subprocess.Popen(
            [self.driver_path, f"--port={self.port}", "--log-level=OFF"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if self.http.get(f"{self.base}/status", timeout=2).json()["value"].get("ready"):
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            if self.process.poll() is not None:
                raise WebDriverError(f"chromedriver exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise WebDriverError("chromedriver did not become ready")
            time.sleep(0.05)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--hide-scrollbars", f"--window-size={self.width},{self.height}", "--force-device-scale-factor=1"]
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": self.chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"pageLoad": int(self.timeout * 1000), "script": int(self.timeout * 1000)},
        }
        value = self._post_raw("session", {"capabilities": {"alwaysMatch": capabilities}})
        self.session = value["sessionId"]

    # --- transport ------------------------------------------------------------------------

    def _post_raw(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(f"{self.base}/{path}", json=body, timeout=self.timeout + 30)
        return self._value(response)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if self.session is None:
            raise WebDriverError("no session")
        url = f"{self.base}/session/{self.session}/{path}"
        response = self.http.request(method, url, json=body, timeout=self.timeout + 30)
        return self._value(response)

    @staticmethod
    def _value(response: requests.Response) -> Any:
        try:
            value = response.json().get("value")
        except ValueError:
            raise WebDriverError(f"HTTP {response.status_code}: {response.text[:200]}") from None
        if response.status_code >= 400 or (isinstance(value, dict) and "error" in value and "message" in value):
            raise WebDriverError(f"{value.get('error')}: {value.get('message', '')[:500]}")
        return value

    # --- commands -------------------------------------------------------------------------

    def get(self, url: str) -> None:
        self._call("POST", "url", {"url": url})

    def open(self, path: Path, fragment: str = "") -> None:
        """Load a local file, with an optional ``#fragment``."""
        self.get(path.resolve().as_uri() + (f"#{fragment}" if fragment else ""))

    @property
    def url(self) -> str:
        return str(self._call("GET", "url"))

    def set_window_size(self, width: int, height: int) -> None:
        self._call("POST", "window/rect", {"width": width, "height": height})
        self.width, self.height = width, height

    def find(self, css: str) -> Element:
        found = self._call("POST", "element", {"using": "css selector", "value": css})
        return Element(self, found[ELEMENT])

    def find_all(self, css: str) -> list[Element]:
        found = self._call("POST", "elements", {"using": "css selector", "value": css})
        return [Element(self, e[ELEMENT]) for e in found]

    def execute(self, script: str, *args: Any) -> Any:
        """Run ``script`` as a function body in the page (``arguments[i]``); its return value."""
        converted = [a.as_arg() if isinstance(a, Element) else a for a in args]
        return self._call("POST", "execute/sync", {"script": script, "args": converted})

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0, what: str = "a condition") -> Any:
        """Poll ``condition`` until it returns something truthy (returned); fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise WebDriverError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.05)

    def log(self) -> list[dict[str, Any]]:
        """Browser console entries since the last call (chromedriver's extension); [] if unsupported."""
        try:
            return list(self._call("POST", "se/log", {"type": "browser"}) or [])
        except WebDriverError:
            return []

    def screenshot(self) -> bytes:
        """The viewport as PNG bytes."""
        return base64.b64decode(self._call("GET", "screenshot"))

    def close(self) -> None:
        if self.session is not None:
            try:
                self.http.delete(f"{self.base}/session/{self.session}", timeout=self.timeout)
            except requests.RequestException:
                pass
            self.session = None
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
