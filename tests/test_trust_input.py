"""Bad input never reaches the network, and is named (trust issue, items 17, 19 and 20).

Each bad input is given to a Melipayamak client whose endpoint is a listening socket that never
accepts: if smsbridge had opened a connection the kernel would have completed it into the
socket's backlog, so "no connection waiting" proves "refused before any I/O". Every refusal is
a raised, typed error with a category, never a report saying "unknown, may have been sent".
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from smsbridge_melipayamak import MelipayamakProvider

import smsbridge
from smsbridge import (
    AsyncClient,
    Client,
    ConfigurationError,
    ErrorCategory,
    InvalidMessageError,
    ResultError,
    SmsBridgeError,
    Template,
)
from smsbridge import exceptions as exceptions_module
from smsbridge.cli import EXIT_CONFIGURATION, EXIT_INVALID_INPUT, cli
from smsbridge.testing import FakeOutbox

pytestmark = pytest.mark.sms_real_providers  # the clients must really try to reach the socket

LINE = "50004001234567"
PASSWORD = "demo-Pa55word"
NUMBERS = ["09121234567", "09351234567"]
DOCS = Path(__file__).resolve().parents[1] / "docs"


class Listener:
    """A socket that listens and never accepts: it shows whether anyone connected."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}/post/Send.asmx"

    def connections(self) -> int:
        """Connections the kernel completed (and smsbridge therefore opened)."""
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    try:
        yield listening
    finally:
        listening.sock.close()


def url_for(
    endpoint: str,
    *,
    username: str = "demo",
    password: str = PASSWORD,
    sender: str = LINE,
    extra: str = "",
) -> str:
    return (
        f"melipayamak://{quote(username, safe='')}:{quote(password, safe='')}@/"
        f"?from={quote(sender, safe='')}&endpoint={quote(endpoint, safe=':/')}{extra}"
    )


def client_for(listener: Listener, **options: object) -> Client:
    settings: dict[str, object] = {"timeout": 1.0, **options}
    return Client(url_for(listener.endpoint), autoload_plugins=True, **settings)  # type: ignore[arg-type]


def every_way_to_send(client: Client, tmp_path: Path, text: str, **send: object) -> list[str]:
    """Send ``text`` with send, asend, AsyncClient.send, send_bulk (with a journal) and
    asend_bulk; return the category of the error each raised."""
    journal = tmp_path / "j.sqlite"
    calls: list[Callable[[], object]] = [
        lambda: client.send(text, NUMBERS, **send),  # type: ignore[arg-type]
        lambda: asyncio.run(client.asend(text, NUMBERS, **send)),  # type: ignore[arg-type]
        lambda: asyncio.run(_async_client_send(client, text, **send)),
        lambda: client.send_bulk(text, NUMBERS, journal=journal, **send),  # type: ignore[arg-type]
        lambda: asyncio.run(client.asend_bulk(text, NUMBERS, journal=journal, **send)),  # type: ignore[arg-type]
    ]
    categories = []
    for call in calls:
        with pytest.raises(SmsBridgeError) as caught:
            call()
        categories.append(caught.value.category.value)
    assert not journal.exists(), "a campaign refused before any I/O left a journal behind"
    return categories


async def _async_client_send(client: Client, text: str, **send: object) -> object:
    async with AsyncClient(provider=client.provider) as other:
        return await other.send(text, NUMBERS, **send)  # type: ignore[arg-type]


def test_the_listener_sees_a_send(listener: Listener) -> None:
    """The control case: a valid send does connect (and, unanswered, is unknown)."""
    with client_for(listener, timeout=0.5) as client:
        report = client.send("hi", NUMBERS)
    assert [result.status.value for result in report] == ["unknown", "unknown"]
    assert listener.connections() == 1


class TestTextAndSender:
    """Texts and sender lines no SMS can carry are refused before any connection."""

    @pytest.mark.parametrize(
        "text",
        [
            "code 4821 \ud800",  # a lone surrogate
            "\udfffcode",
            "code\x00",  # XML-illegal characters
            "code \x01 4821",
            "code\x0b",
            "code\x1f",
            "code \ufffe",
            "code \uffff",
        ],
    )
    def test_text(self, listener: Listener, tmp_path: Path, text: str) -> None:
        """InvalidMessageError (invalid_message) from every way to send; no connection."""
        with client_for(listener) as client:
            categories = every_way_to_send(client, tmp_path, text)
        assert categories == ["invalid_message"] * 5
        assert listener.connections() == 0

    @pytest.mark.parametrize("sender", ["5000\n1234", "5000\r1", "5000\x00", "\t5000", "50\ud8001"])
    def test_sender_of_the_message(self, listener: Listener, tmp_path: Path, sender: str) -> None:
        """A control character or lone surrogate in the sender: invalid_message."""
        with client_for(listener) as client:
            categories = every_way_to_send(client, tmp_path, "hi", sender=sender)
        assert categories == ["invalid_message"] * 5
        assert listener.connections() == 0

    @pytest.mark.parametrize("variable", ["48\ud80021", "48\x0121"])
    def test_template_variable(self, listener: Listener, variable: str) -> None:
        """A template variable no SMS can carry is refused when the Template is built."""
        with pytest.raises(InvalidMessageError, match="control character or a lone surrogate"):
            Template(id="100", variables=[variable])
        assert listener.connections() == 0


class TestSettings:
    """Credentials, sender lines, timeouts and endpoints are checked when the client is built."""

    @pytest.mark.parametrize(
        "options",
        [
            {"username": "de\nmo"},
            {"username": "demo\x00"},
            {"password": "pa\nss-word"},
            {"password": "pa\rss-word"},
            {"password": "pass\x7fword"},
            {"sender": "5000\n1234"},
            {"sender": "5000\x01"},
        ],
    )
    def test_control_characters_in_the_url(
        self, listener: Listener, options: dict[str, str]
    ) -> None:
        """In username, password or ``from=``: a ConfigurationError that quotes none of them."""
        with pytest.raises(ConfigurationError, match="control characters") as caught:
            Client(url_for(listener.endpoint, **options), autoload_plugins=True)
        assert caught.value.category is ErrorCategory.CONFIGURATION
        for value in options.values():
            assert value not in str(caught.value)
        assert listener.connections() == 0

    @pytest.mark.parametrize(
        "options",
        [
            {"username": "de\nmo"},
            {"password": "pa\nss-word"},
            {"password": "pa\ud800ss"},
            {"sender": "5000\n1234"},
        ],
    )
    def test_control_characters_in_code(self, listener: Listener, options: dict[str, str]) -> None:
        """The same, building the provider in code."""
        arguments = {"username": "demo", "password": PASSWORD, "sender": LINE, **options}
        with pytest.raises(ConfigurationError, match="control characters"):
            MelipayamakProvider(
                username=arguments["username"],
                password=arguments["password"],
                sender=arguments["sender"],
                endpoint=listener.endpoint,
            )
        assert listener.connections() == 0

    @pytest.mark.parametrize("timeout", [float("nan"), float("inf"), float("-inf")])
    def test_timeout_in_code(self, listener: Listener, timeout: float) -> None:
        """``timeout=nan|inf`` is refused (a deadline that never ends bounds nothing)."""
        with pytest.raises(ConfigurationError, match="timeout must be a positive finite number"):
            client_for(listener, timeout=timeout)
        with pytest.raises(ConfigurationError, match="timeout"):
            Client(provider=MelipayamakProvider(
                username="demo", password=PASSWORD, sender=LINE, endpoint=listener.endpoint
            ), timeout=timeout)  # fmt: skip
        assert listener.connections() == 0

    @pytest.mark.parametrize("timeout", ["nan", "NaN", "inf", "Infinity", "-inf"])
    def test_timeout_in_the_url(self, listener: Listener, timeout: str) -> None:
        """The same in ``?timeout=``."""
        with pytest.raises(ConfigurationError, match="timeout"):
            Client(url_for(listener.endpoint, extra=f"&timeout={timeout}"), autoload_plugins=True)
        assert listener.connections() == 0

    @pytest.mark.parametrize(
        ("endpoint", "reason"),
        [
            ("http:///post/Send.asmx", "has no host"),
            ("http://:8080/post/Send.asmx", "has no host"),
            ("https://?x=1", "has no host"),
            ("http://127.0.0.1:99999/post/Send.asmx", "port is out of range"),
            ("http://127.0.0.1:65536/post/Send.asmx", "port is out of range"),
            ("http://127.0.0.1:-1/post/Send.asmx", "port is out of range"),
            ("http://127.0.0.1:port/post/Send.asmx", "port is out of range"),
        ],
    )
    def test_endpoint(self, endpoint: str, reason: str) -> None:
        """An endpoint with no host or a port out of range, in the URL or in code."""
        with pytest.raises(ConfigurationError, match=reason):
            Client(url_for(endpoint), autoload_plugins=True)
        with pytest.raises(ConfigurationError, match=reason):
            MelipayamakProvider(username="demo", password=PASSWORD, sender=LINE, endpoint=endpoint)

    def test_cli(self, listener: Listener, tmp_path: Path) -> None:
        """The command line: one error line, the input or configuration status, no connection."""
        runner = CliRunner(env={"SMSBRIDGE_URL": None, "SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD": None})
        good = url_for(listener.endpoint)
        cases = [
            (["--url", good, "--text", "a\x01b"], EXIT_INVALID_INPUT, "U+0001"),
            (["--url", good, "--text", "hi", "--from", "50\n1"], EXIT_INVALID_INPUT, "control"),
            (["--url", good, "--text", "hi", "--timeout", "nan"], 2, "finite"),  # usage
            (["--url", good, "--text", "hi", "--timeout", "inf"], 2, "finite"),
            (["--url", url_for("http://127.0.0.1:70000/x"), "--text", "hi"],
             EXIT_CONFIGURATION, "out of range"),
            (["--url", url_for("http:///x"), "--text", "hi"], EXIT_CONFIGURATION, "no host"),
            (["--url", url_for(listener.endpoint, password="pa\nss-word"), "--text", "hi"],
             EXIT_CONFIGURATION, "control"),
        ]  # fmt: skip
        for args, status, fragment in cases:
            for campaign in ([], ["--journal", str(tmp_path / "j.sqlite")]):
                result = runner.invoke(cli, ["send", "--to", NUMBERS[0], *args, *campaign])
                assert result.exit_code == status, (args, result.output)
                (line,) = result.stderr.splitlines()
                assert line.startswith("smsbridge: error: ")
                assert fragment in line, line
                assert not (tmp_path / "j.sqlite").exists()
        assert listener.connections() == 0


INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200e\u200f",  # direction marks
    "\ufeff",  # a byte order mark
    "\u200c\u200d",  # zero-width (non-)joiners
    " \u2066\u2069 \n",  # isolates around spaces
    "\u2060\u00ad",  # word joiner, soft hyphen
]


class TestInvisibleText:
    """A text made only of invisible or format characters is empty (item 19)."""

    @pytest.mark.parametrize("text", INVISIBLE)
    def test_refused_as_empty(self, listener: Listener, tmp_path: Path, text: str) -> None:
        """Every way to send says "empty"; nothing connects."""
        with client_for(listener) as client:
            categories = every_way_to_send(client, tmp_path, text)
            with pytest.raises(InvalidMessageError, match="empty"):
                client.send(text, NUMBERS)
        assert categories == ["invalid_message"] * 5
        assert listener.connections() == 0

    @pytest.mark.parametrize("text", INVISIBLE)
    def test_cli_send_and_segments_agree(self, text: str) -> None:
        """``smsbridge send`` and ``smsbridge segments`` refuse it alike."""
        runner = CliRunner(env={"SMSBRIDGE_URL": None, "SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD": "1"})
        sent = runner.invoke(cli, ["send", "--url", "fake://", "--to", NUMBERS[0], "--text", text])
        counted = runner.invoke(cli, ["segments", text])
        assert sent.exit_code == counted.exit_code == EXIT_INVALID_INPUT
        assert sent.stderr == counted.stderr == "smsbridge: error: message text is empty\n"

    def test_visible_text_around_format_characters_is_sent(self, sms_outbox: FakeOutbox) -> None:
        """The control case: a direction mark inside a real text is kept and sent."""
        text = "\u200fسلام\u200f"
        assert Client("fake://").send(text, NUMBERS[0]).all_accepted


def _error_classes() -> list[type[SmsBridgeError]]:
    return [
        cls
        for cls in vars(exceptions_module).values()
        if isinstance(cls, type) and issubclass(cls, SmsBridgeError)
    ]


class TestEveryErrorHasACategory:
    """Every error carries a category, the base classes included (item 20)."""

    def test_the_classes_are_found(self) -> None:
        assert len(_error_classes()) >= 18

    @pytest.mark.parametrize("cls", _error_classes(), ids=lambda cls: cls.__name__)
    def test_instances(self, cls: type[SmsBridgeError]) -> None:
        """``cls("x").category`` is an ErrorCategory and survives the per-recipient view."""
        error = cls("x")
        assert isinstance(error.category, ErrorCategory)
        assert isinstance(error.retryable, bool)
        assert error.message == "x"
        assert ResultError.from_exception(error).category is error.category

    def test_invalid_input_error(self) -> None:
        """The issue's own example."""
        assert smsbridge.InvalidInputError("x").category is ErrorCategory.INVALID_INPUT


class TestRateLimitZero:
    """``rate_limit=0`` is refused, as docs/guide.md says, wherever a rate is given (item 20)."""

    def test_the_docs_say_so(self) -> None:
        guide = (DOCS / "guide.md").read_text(encoding="utf-8")
        (row,) = [line for line in guide.splitlines() if line.startswith("| `rate_limit` |")]
        assert "0 is refused" in row

    @pytest.mark.parametrize("rate", [0, 0.0, -1, float("nan"), float("inf")])
    def test_client_and_url(self, rate: float) -> None:
        """In code and in the URL: a ConfigurationError naming rate_limit."""
        with pytest.raises(ConfigurationError, match="rate_limit"):
            Client("fake://", rate_limit=rate)
        with pytest.raises(ConfigurationError, match="rate_limit"):
            Client(f"fake://?rate_limit={rate}")

    @pytest.mark.parametrize("rate", [0, 0.0, -1, float("nan"), float("inf")])
    def test_campaign(self, rate: float, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """A campaign's own ``rate_limit``: the same ConfigurationError, before the journal is
        created or anything is sent."""
        journal = tmp_path / "j.sqlite"
        with Client("fake://") as client:
            with pytest.raises(ConfigurationError, match="rate_limit"):
                client.send_bulk("hi", NUMBERS, journal=journal, rate_limit=rate)
            with pytest.raises(ConfigurationError, match="rate_limit"):
                asyncio.run(client.asend_bulk("hi", NUMBERS, journal=journal, rate_limit=rate))
        assert not journal.exists()
        sms_outbox.assert_nothing_sent()

    @pytest.mark.parametrize("rate", ["0", "-1", "nan", "inf"])
    def test_cli(self, rate: str, sms_outbox: FakeOutbox) -> None:
        """``--rate 0``, ``nan`` or ``inf``: one usage error (click's own range would let
        ``nan`` through, to fail later as configuration); nothing sent."""
        result = CliRunner(env={"SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD": "1"}).invoke(
            cli, ["send", "--url", "fake://", "--to", NUMBERS[0], "--text", "hi", "--rate", rate]
        )
        assert result.exit_code == 2, result.output
        sms_outbox.assert_nothing_sent()


class TestFailNumberForms:
    """``fail_number`` accepts every form ``send`` accepts (item 20)."""

    @pytest.mark.parametrize(
        "written",
        [
            "09351234567",
            "+989351234567",
            "989351234567",
            "9351234567",
            "00989351234567",
            "+98 935 123 4567",
            "0935-123-4567",
            "۰۹۳۵۱۲۳۴۵۶۷",
            "٠٩٣٥١٢٣٤٥٦٧",
        ],
    )
    @pytest.mark.parametrize("sent_as", ["09351234567", "+989351234567", "9351234567"])
    def test_forms(self, written: str, sent_as: str, sms_outbox: FakeOutbox) -> None:
        """Scripted in one form, sent in another: that number fails, its neighbour does not."""
        sms_outbox.fail_number(written, ErrorCategory.RECIPIENT_REJECTED)
        report = Client("fake://").send("hi", ["09121234567", sent_as])
        assert [r.status.value for r in report] == ["accepted", "rejected"]
        error = report[1].error
        assert error is not None
        assert error.category is ErrorCategory.RECIPIENT_REJECTED

    def test_a_number_send_refuses_is_refused(self, sms_outbox: FakeOutbox) -> None:
        """What send would refuse cannot be scripted either (it could never match)."""
        with pytest.raises(smsbridge.InvalidRecipientError):
            sms_outbox.fail_number("12", ErrorCategory.RECIPIENT_REJECTED)


class TestEmptyTextAgrees:
    """``smsbridge segments ""`` agrees with ``send`` that empty text is no message (item 20)."""

    @pytest.mark.parametrize("text", ["", "   ", "\n"])
    def test_segments_and_send(self, text: str, sms_outbox: FakeOutbox) -> None:
        runner = CliRunner(env={"SMSBRIDGE_URL": None, "SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD": "1"})
        counted = runner.invoke(cli, ["segments", text])
        sent = runner.invoke(cli, ["send", "--url", "fake://", "--to", NUMBERS[0], "--text", text])
        piped = runner.invoke(cli, ["segments"], input=text)
        assert counted.exit_code == sent.exit_code == piped.exit_code == EXIT_INVALID_INPUT
        assert counted.stderr == sent.stderr == piped.stderr
        assert "empty" in counted.stderr
        assert counted.stdout == ""
        sms_outbox.assert_nothing_sent()
        with pytest.raises(InvalidMessageError, match="empty"):
            Client("fake://").send(text, NUMBERS[0])
