"""The page in a real headless Chromium: messages sent from other processes and through an
emulator appear live in the right conversation, search narrows the list, chaos armed from the
page fails the next send as chosen, clearing empties it, and a message is never HTML.

Chromium comes from the system package manager (.ci/run installs it); Playwright only drives
it. Without it these tests skip on a developer machine and fail in CI.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_support import launch, missing
from inbox_support import kavenegar_client, melipayamak_client, send_elsewhere

from smsbridge import Client, Template
from smsbridge.inbox import InboxServer, InboxStore

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

_REASON = missing()
if _REASON is not None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {_REASON}", pytrace=False)
    pytest.skip(f"browser tests skipped: {_REASON}", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One system Chromium for this module (Playwright's sync API owns the thread's event
    loop while it runs, so it stops before other modules' tests)."""
    with sync_playwright() as playwright:
        started = launch(playwright)
        yield started
        started.close()


class Watched:
    """A page on the inbox, with every request it makes and every script error it hits."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page = page
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.requested: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )

        def route(route: object) -> None:
            from playwright.sync_api import Route

            assert isinstance(route, Route)
            url = route.request.url
            self.requested.append(url)
            if url.startswith(origin):
                route.continue_()
            else:  # nothing but the inbox may be reached
                self.foreign.append(url)
                route.abort()

        page.route("**/*", route)


@pytest.fixture
def watched(browser: Browser, inbox: InboxServer) -> Iterator[Watched]:
    """A fresh browser context on the running inbox's page, live updates connected."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    seen = Watched(page, inbox.url.rstrip("/"))
    page.goto(inbox.url)
    expect(page.locator("#live")).to_have_text("live")
    yield seen
    context.close()
    assert seen.foreign == []
    assert seen.errors == []


def _open(page: Page, number: str) -> None:
    page.locator(f".conversation[data-number='{number}']").click()
    expect(page.locator("#thread-number")).to_have_text(number)


def test_messages_appear_live(watched: Watched, inbox: InboxServer, store_path: Path) -> None:
    """Sends from another process show up without a reload, each in its number's
    conversation, as the handset shows them; the status turns delivered while watching."""
    page = watched.page
    inbox.delivery_delay = 1.5
    send_elsewhere(store_path, "سلام، کد ورود شما ۴۸۲۱ است", ["09123456789"])
    send_elsewhere(store_path, "Your code is 4821", ["09351234567"], flash=True, sender="3000123")
    numbers = page.locator(".conversation")
    expect(numbers).to_have_count(2)
    expect(numbers.nth(0)).to_have_attribute("data-number", "+989351234567")
    expect(numbers.nth(1).locator(".snippet")).to_have_text("سلام، کد ورود شما ۴۸۲۱ است")

    _open(page, "+989123456789")
    bubble = page.locator("#messages .bubble")
    expect(bubble).to_have_count(1)
    expect(bubble).to_have_attribute("data-direction", "incoming")
    text = bubble.locator(".text")
    expect(text).to_have_text("سلام، کد ورود شما ۴۸۲۱ است")
    expect(text).to_have_attribute("dir", "auto")
    assert text.evaluate("node => node.matches(':dir(rtl)')")
    assert text.evaluate("node => getComputedStyle(node).direction") == "rtl"
    expect(bubble.locator(".parts")).to_have_text("1 part · UCS-2")
    expect(bubble.locator(".line")).to_have_text("default line")
    expect(bubble.locator(".status")).to_have_text("◷ pending")
    expect(bubble.locator(".status")).to_have_text("✓✓ delivered")

    _open(page, "+989351234567")
    english = page.locator("#messages .bubble")
    expect(english.locator(".text")).to_have_text("Your code is 4821")
    assert english.locator(".text").evaluate("node => node.matches(':dir(ltr)')")
    expect(english).to_have_class("bubble incoming flash")
    expect(english.locator(".flash-tag")).to_have_text("flash")
    expect(english.locator(".line")).to_have_text("3000123")
    expect(english.locator(".parts")).to_have_text("1 part · GSM-7")

    send_elsewhere(store_path, "Your new code is 9090", ["09351234567"])
    expect(english).to_have_count(2)
    expect(english.nth(1).locator(".text")).to_have_text("Your new code is 9090")


def test_emulator_messages_appear(browser: Browser, store: InboxStore) -> None:
    """A send through the hosted Melipayamak emulator shows under melipayamak, from its line."""
    pytest.importorskip("smsbridge_melipayamak")
    from smsbridge.inbox.melipayamak import host

    with InboxServer(store) as server:
        emulator = host(server)
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(server.url)
            expect(page.locator("#live")).to_have_text("live")
            expect(page.locator("#services li")).to_have_count(2)
            with melipayamak_client(emulator.provider_url()) as client:
                assert client.send("درود از ملی‌پیامک", ["09121234567"]).all_accepted
            _open(page, "+989121234567")
            bubble = page.locator("#messages .bubble")
            expect(bubble.locator(".text")).to_have_text("درود از ملی‌پیامک")
            expect(bubble.locator(".from")).to_have_text("50004001234567 · melipayamak")
        finally:
            context.close()


def test_kavenegar_messages_appear(browser: Browser, store: InboxStore) -> None:
    """Sends through the hosted Kavenegar emulator appear live, each in its number's
    conversation: a plain text from the account's line, and a verify/lookup OTP as the
    rendered template text from the lookup line, tagged with the template; then delivered."""
    pytest.importorskip("smsbridge_kavenegar")
    from smsbridge.inbox.kavenegar import host

    with InboxServer(store) as server:
        emulator = host(server)
        emulator.state.operator_delay = 0.2
        emulator.state.delivery_delay = 1.0
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(server.url)
            expect(page.locator("#live")).to_have_text("live")
            expect(page.locator("#services li")).to_have_count(2)
            with kavenegar_client(emulator.provider_url()) as client:
                assert client.send("درود از کاوه‌نگار", ["09121234567"]).all_accepted
                otp = Template(id="verify", variables={"token": "4821"})
                assert client.send(otp, ["09351234567"]).all_accepted
            numbers = page.locator(".conversation")
            expect(numbers).to_have_count(2)
            expect(numbers.nth(0)).to_have_attribute("data-number", "+989351234567")
            expect(numbers.nth(0).locator(".snippet")).to_have_text("کد ورود شما: 4821")

            _open(page, "+989121234567")
            bubble = page.locator("#messages .bubble")
            expect(bubble).to_have_count(1)
            expect(bubble.locator(".text")).to_have_text("درود از کاوه‌نگار")
            assert bubble.locator(".text").evaluate("node => node.matches(':dir(rtl)')")
            expect(bubble.locator(".from")).to_have_text("10004346 · kavenegar")

            _open(page, "+989351234567")
            expect(bubble).to_have_count(1)
            expect(bubble.locator(".text")).to_have_text("کد ورود شما: 4821")
            expect(bubble.locator(".from")).to_have_text("10008663 · kavenegar")
            expect(bubble.locator(".template")).to_have_text("template verify")
            expect(bubble.locator(".status")).to_have_text("✓✓ delivered")
        finally:
            context.close()


def test_search(watched: Watched, store_path: Path) -> None:
    """Typing narrows the numbers to those with a matching text or number."""
    page = watched.page
    client = Client(f"fake://?inbox={store_path}")
    client.send("Your code is 4821", ["09123456789"])
    client.send("سفارش شما ارسال شد", ["09351234567"])
    client.send("Meeting at 10", ["09121111111"])
    numbers = page.locator(".conversation")
    expect(numbers).to_have_count(3)
    page.fill("#search", "4821")
    expect(numbers).to_have_count(1)
    expect(numbers).to_have_attribute("data-number", "+989123456789")
    page.fill("#search", "سفارش")
    expect(numbers).to_have_attribute("data-number", "+989351234567")
    page.fill("#search", "0912 111")
    expect(numbers).to_have_attribute("data-number", "+989121111111")
    page.fill("#search", "")
    expect(numbers).to_have_count(3)


def test_chaos_from_the_page(watched: Watched, store_path: Path) -> None:
    """Arm "the next send is a blacklisted number" on the page: the next send from another
    process fails with exactly that, the rule is used up, the page shows the refused attempt;
    the send after goes through."""
    page = watched.page
    page.select_option("#chaos-category", "recipient_rejected")
    page.fill("#chaos-count", "1")
    page.click("#chaos-arm")
    rule = page.locator("#chaos-rules .rule")
    expect(rule).to_have_text("recipient_rejected · next 1 send(s) · any provider×")

    report = send_elsewhere(store_path, "Your code is 1234", ["09123456789"])
    assert (report[0]["status"], report[0]["category"]) == ("rejected", "recipient_rejected")
    expect(rule).to_have_count(0)
    _open(page, "+989123456789")
    refused = page.locator("#messages .bubble")
    expect(refused).to_have_class("bubble incoming rejected")
    expect(refused.locator(".status")).to_have_text("✗ not sent: recipient_rejected")
    expect(refused.locator(".chaos-tag")).to_have_text("chaos")
    assert send_elsewhere(store_path, "Your code is 1234", ["09123456789"])[0]["status"] == (
        "accepted"
    )
    expect(refused).to_have_count(2)


def test_chaos_share_until_disarmed(watched: Watched, store_path: Path) -> None:
    """A share of 100% fails every send as "not sent" until disarmed with ×."""
    page = watched.page
    page.select_option("#chaos-category", "provider_unavailable")
    page.check("input[name=mode][value=share]")
    page.fill("#chaos-share", "100")
    page.click("#chaos-arm")
    rule = page.locator("#chaos-rules .rule")
    expect(rule).to_have_text("provider_unavailable · every send · any provider×")
    for _ in range(2):
        report = send_elsewhere(store_path, "hi", ["09123456789"])
        assert report[0]["category"] == "provider_unavailable"
    rule.locator("button").click()
    expect(rule).to_have_count(0)
    expect(page.locator("#no-rules")).to_be_visible()
    assert send_elsewhere(store_path, "hi", ["09123456789"])[0]["status"] == "accepted"


def test_chaos_for_the_emulator(browser: Browser, store: InboxStore) -> None:
    """Chaos armed on the page for melipayamak loses the emulator's next reply: the client
    sees unknown, the page shows the message with the lost reply noted."""
    pytest.importorskip("smsbridge_melipayamak")
    from smsbridge.inbox.melipayamak import host

    with InboxServer(store) as server:
        emulator = host(server)
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(server.url)
            expect(page.locator("#live")).to_have_text("live")
            page.select_option("#chaos-category", "outcome_unknown")
            page.select_option("#chaos-provider", "melipayamak")
            page.click("#chaos-arm")
            expect(page.locator("#chaos-rules .rule")).to_have_count(1)
            with melipayamak_client(emulator.provider_url()) as client:
                assert client.send("hi", ["09123456789"]).unknown == 1
            expect(page.locator("#chaos-rules .rule")).to_have_count(0)
            _open(page, "+989123456789")
            bubble = page.locator("#messages .bubble")
            expect(bubble.locator(".unknown")).to_have_text("reply lost: sender saw unknown")
        finally:
            context.close()


def test_clear(watched: Watched, store: InboxStore, store_path: Path) -> None:
    """Clear one number, then everything."""
    page = watched.page
    client = Client(f"fake://?inbox={store_path}")
    client.send("a", ["09123456789"])
    client.send("b", ["09351234567"])
    numbers = page.locator(".conversation")
    expect(numbers).to_have_count(2)
    _open(page, "+989123456789")
    page.click("#clear-number")
    expect(numbers).to_have_count(1)
    expect(numbers).to_have_attribute("data-number", "+989351234567")
    expect(page.locator("#messages .bubble")).to_have_count(0)
    assert [m.recipient for m in store.messages()] == ["+989351234567"]
    page.click("#clear-all")  # the confirmation dialog is accepted
    expect(numbers).to_have_count(0)
    expect(page.locator("#no-conversations")).to_be_visible()
    assert store.count() == 0


def test_a_message_is_never_html(watched: Watched, store_path: Path) -> None:
    """Markup in a message is shown as text: no element is created, no script runs, no URL
    in it is fetched."""
    page = watched.page
    hostile = (
        '<img src="/x.png" onerror="document.title=\'pwned\'"><b>bold</b> http://127.0.0.1:9/y'
    )
    Client(f"fake://?inbox={store_path}").send(hostile, ["09123456789"])
    _open(page, "+989123456789")
    text = page.locator("#messages .bubble .text")
    expect(text).to_have_text(hostile)
    expect(page.locator("#messages img, #messages b, #messages a")).to_have_count(0)
    expect(page.locator(".conversation img")).to_have_count(0)
    assert page.title() == "smsbridge inbox"
    assert not [url for url in watched.requested if "x.png" in url or ":9/" in url]


def test_token(browser: Browser, store: InboxStore) -> None:
    """A shared instance's page asks for the token, then works once opened with it."""
    with InboxServer(store, token="team-token") as server:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(server.url)
            expect(page.locator("#notice")).to_contain_text("protected by a token")
            page.goto(server.url + "?token=team-token")
            assert page.url == server.url
            expect(page.locator("#live")).to_have_text("live")
            expect(page.locator("#notice")).to_be_hidden()
        finally:
            context.close()


def test_screenshot(browser: Browser, tmp_path: Path) -> None:
    """The script that draws docs/inbox.png still works: a PNG of the page's size."""
    from inbox_screenshot import HEIGHT, WIDTH, capture

    target = tmp_path / "inbox.png"
    capture(browser, target)
    head = target.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (WIDTH, HEIGHT)
