"""Driving the system Chromium with Playwright (never a downloaded browser).

``launch()`` finds Chromium (``$SMSBRIDGE_CHROMIUM``, else ``chromium`` on PATH, else
``/usr/bin/chromium``) and starts it headless with networking beyond the pages it is given
switched off. ``missing()`` says why it cannot, so tests skip with that reason on a developer
machine and fail with it in CI (where ``CI`` is set and .ci/run installed Chromium).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",  # the inbox is on loopback; nothing else may be reached
]


def chromium_path() -> str | None:
    """The system Chromium, or None."""
    configured = os.environ.get("SMSBRIDGE_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no system Chromium (apt-get install -y chromium, or set SMSBRIDGE_CHROMIUM)"
    return None


def launch(playwright: Playwright) -> Browser:
    """Start the system Chromium headless."""
    path = chromium_path()
    assert path is not None, missing()
    return playwright.chromium.launch(executable_path=path, args=ARGS)
