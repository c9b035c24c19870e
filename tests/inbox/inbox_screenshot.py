"""Write docs/inbox.png: the real page with a few Persian and English messages.

    .venv/bin/python tests/inbox/inbox_screenshot.py [PATH]

test_inbox_browser.py runs :func:`capture` into a temporary file on every run, so the script keeps
working; run it by hand to refresh the picture in docs/.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from smsbridge.inbox import InboxServer

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1280, 760


def _scene(store_path: Path) -> None:
    """Messages as an OTP flow, a campaign and a chaos run would leave them."""
    from smsbridge import Client, Message, Template
    from smsbridge.inbox import ChaosRule, InboxStore

    store = InboxStore(store_path)
    store.add_template("login", "کد ورود شما به فروشگاه: {0}\nاین کد را به کسی ندهید.")
    with Client(f"fake://?inbox={store_path}") as client:
        client.send("Welcome to Tehran Books! Your account is ready.", ["09351234567"])
        client.send(
            Message(text="سلام مریم، سفارش ۱۲۴۵ ارسال شد. لغو11", sender="50004001234567"),
            ["09121111111"],
        )
        client.send(Template(id="login", variables=["48213"]), ["09123456789"])
        store.arm(ChaosRule(category="recipient_rejected"))
        client.send("Your code is 7316", ["09123456789"])
        client.send(Message(text="Your code is 7316", flash=True), ["09123456789"])
    # For fake sends only: the Melipayamak send that follows must not be drawn.
    store.arm(
        ChaosRule(category="provider_unavailable", provider="fake", remaining=None, share=0.2)
    )
    store.close()


def _melipayamak(server: InboxServer) -> int:
    """One code through the hosted Melipayamak emulator, when its provider is installed."""
    try:
        from inbox_support import melipayamak_client
        from smsbridge_melipayamak.emulator import EmulatorState

        from smsbridge.inbox.melipayamak import host
    except ImportError:
        return 0
    state = EmulatorState.demo()
    state.delivery_delay = 0.2
    emulator = host(server, state=state)
    with melipayamak_client(emulator.provider_url()) as client:
        client.send("کد تایید ملی‌پیامک: 9021", ["09123456789"])
    return 1


def capture(browser: Browser, path: Path) -> None:
    """Serve a scene from a fresh store and photograph the page into ``path``."""
    from playwright.sync_api import expect

    from smsbridge.inbox import InboxServer

    with tempfile.TemporaryDirectory() as folder:
        store_path = Path(folder) / "inbox.sqlite"
        _scene(store_path)
        with InboxServer(store_path, delivery_delay=0.2) as server:
            melipayamak = _melipayamak(server)
            context = browser.new_context(
                viewport={"width": WIDTH, "height": HEIGHT},
                locale="en-GB",
                timezone_id="Asia/Tehran",
            )
            try:
                page = context.new_page()
                page.goto(server.url)
                page.click(".conversation[data-number='+989123456789']")
                bubbles = page.locator("#messages .bubble")
                expect(bubbles).to_have_count(3 + melipayamak)
                expect(page.locator("#messages .status.delivered")).to_have_count(2 + melipayamak)
                expect(page.locator("#chaos-rules .rule")).to_have_count(1)
                page.screenshot(path=str(path))
            finally:
                context.close()


def main(argv: list[str]) -> int:
    """Launch the system Chromium and write the picture (default docs/inbox.png)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from browser_support import launch, missing
    from playwright.sync_api import sync_playwright

    reason = missing()
    if reason:
        print(f"cannot take the screenshot: {reason}", file=sys.stderr)
        return 1
    target = Path(argv[0]) if argv else ROOT / "docs" / "inbox.png"
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            capture(browser, target)
        finally:
            browser.close()
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
