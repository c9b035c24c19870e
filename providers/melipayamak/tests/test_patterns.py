"""Pattern (template) sends through ``smsbridge.Client`` against the emulator over real sockets,
on both APIs: SOAP SendByBaseNumber2 and REST BaseServiceNumber. The rendered text, the
credit per part, the ``;`` rule, every pattern code, and an OTP campaign of 1,000 numbers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from meli_support import (
    APIS,
    OTP,
    OTP_TEXT,
    Api,
    Setup,
    account,
    client_for,
    nothing,
    pattern_reply,
    service,
)
from smsbridge_melipayamak import MelipayamakProvider
from smsbridge_melipayamak._codes import PATTERN_CODES
from smsbridge_melipayamak.emulator import (
    DEMO_PATTERN,
    DEMO_SERVICE_LINE,
    Emulator,
    EmulatorState,
    PatternCode,
)

from smsbridge import ProviderURL, SendStatus, Template
from smsbridge.exceptions import ConfigurationError, ErrorCategory, InvalidMessageError
from smsbridge.journal import RowState, open_journal

ONE = "+989121234567"


class TestPatternSend:
    """An OTP through the demo pattern: accepted with its recId, rendered on the emulator."""

    @APIS
    def test_otp(self, emulator: Emulator, api: Api) -> None:
        """The handset's text is the pattern filled in, from the shared service line; the
        result carries the recId and the emulator keeps the pattern and its variables."""
        with client_for(emulator, api) as client:
            (result,) = client.send(OTP, [ONE])
        (sent,) = emulator.state.sent
        assert (result.status, result.message_id) == (SendStatus.ACCEPTED, str(sent.rec_id))
        assert result.error is None
        assert (sent.text, sent.body_id, sent.variables) == (OTP_TEXT, DEMO_PATTERN, ("4821",))
        assert (sent.recipient, sent.sender, sent.parts) == ("989121234567", DEMO_SERVICE_LINE, 1)
        operation = "rest/BaseServiceNumber" if api == "rest" else "SendByBaseNumber2"
        assert [r.operation for r in emulator.state.requests] == [operation]

    @APIS
    def test_several_variables_in_order(self, emulator: Emulator, api: Api) -> None:
        """Variables fill {0}, {1}… in order; Persian and markup arrive intact."""
        pattern = emulator.state.add_pattern("سلام {1}، کد شما {0} است <{2}> & تمام")
        template = Template(id=str(pattern.body_id), variables=["۴۸۲۱", "علی", "a&b<c>"])
        with client_for(emulator, api) as client:
            assert client.send(template, [ONE]).all_accepted
        assert emulator.state.sent[0].text == "سلام علی، کد شما ۴۸۲۱ است <a&b<c>> & تمام"

    @APIS
    def test_one_request_per_recipient_async(self, emulator: Emulator, api: Api) -> None:
        """Three recipients are three requests, through ``asend`` as well."""
        recipients = [ONE, "+989351234567", "+989121111111"]

        async def go() -> list[str | None]:
            async with client_for(emulator, api) as client:
                return [r.message_id for r in await client.asend(OTP, recipients)]

        ids = asyncio.run(go())
        assert len(emulator.state.requests) == 3
        by_number = {m.recipient: str(m.rec_id) for m in emulator.state.sent}
        assert ids == [by_number["98" + n.removeprefix("+98")] for n in recipients]

    @APIS
    def test_credit_goes_down_per_part(self, emulator: Emulator, api: Api) -> None:
        """A pattern rendering to two parts costs two; the balance shows it on either API."""
        pattern = emulator.state.add_pattern("کد {0} " + "ب" * 70)
        before = emulator.state.accounts["demo"].credit
        with client_for(emulator, api) as client:
            assert client.send(
                Template(id=str(pattern.body_id), variables=["1"]), [ONE]
            ).all_accepted
            assert client.send(OTP, [ONE]).all_accepted
            assert client.balance().amount == before - 3
        assert [m.parts for m in emulator.state.sent] == [2, 1]


class TestBeforeAnyIO:
    """Variables and ids the service would misread are refused before anything is sent."""

    @APIS
    def test_semicolon_refused(self, emulator: Emulator, api: Api) -> None:
        """A ';' inside a variable would shift every later one: an InvalidMessageError naming
        the variable and the way out, and nothing reaches the emulator."""
        with client_for(emulator, api) as client:
            with pytest.raises(InvalidMessageError, match=r"variable 1 contains ';'.*replace"):
                client.send(Template(id=str(DEMO_PATTERN), variables=["4821", "a;b"]), [ONE])
            with pytest.raises(InvalidMessageError, match="';'"):
                client.send_bulk(Template(id=str(DEMO_PATTERN), variables=[";"]), [ONE])
        assert emulator.state.requests == []

    @APIS
    def test_semicolon_replaced_when_asked(self, emulator: Emulator, api: Api) -> None:
        """With ?replace_semicolon= (percent-encoded) the variable goes out with the
        replacement, and the pattern still gets its one variable."""
        with client_for(emulator, api, extra="&replace_semicolon=%D8%8C") as client:
            template = Template(id=str(DEMO_PATTERN), variables=["48;21"])
            assert client.send(template, [ONE]).all_accepted
        assert emulator.state.sent[0].variables == ("48،21",)
        assert emulator.state.sent[0].text == "کد ورود شما: 48،21"

    @pytest.mark.parametrize("replacement", [";", "a;b", "", "\n"])
    def test_replacement_must_not_be_a_separator(self, replacement: str) -> None:
        """A replacement that holds ';', is empty or holds a control character is refused."""
        with pytest.raises(ConfigurationError, match="replace_semicolon"):
            MelipayamakProvider(username="u", password="p", replace_semicolon=replacement)

    def test_replacement_from_the_url(self) -> None:
        """The URL parameter reaches the provider."""
        url = ProviderURL.parse("melipayamak://u:p@/?replace_semicolon=%D8%8C")
        assert MelipayamakProvider.from_url(url).replace_semicolon == "،"

    @APIS
    @pytest.mark.parametrize("body_id", ["otp", "0", "-4", "12.5", "۱۲", "2147483648"])
    def test_id_is_a_body_id(self, emulator: Emulator, api: Api, body_id: str) -> None:
        """A template id that is not a positive xsd:int is refused before I/O."""
        with (
            client_for(emulator, api) as client,
            pytest.raises(InvalidMessageError, match="bodyId"),
        ):
            client.send(Template(id=body_id, variables=["1"]), [ONE])
        assert emulator.state.requests == []

    @APIS
    def test_named_variables_refused(self, emulator: Emulator, api: Api) -> None:
        """Melipayamak's variables are positional: a mapping is refused before I/O."""
        template = Template(id=str(DEMO_PATTERN), variables={"code": "4821"})
        with client_for(emulator, api) as client, pytest.raises(InvalidMessageError, match="order"):
            client.send(template, [ONE])
        assert emulator.state.requests == []


def _unapproved(state: EmulatorState) -> None:
    state.add_pattern("کد {0}", 200, approved=False)


def _two_variables(state: EmulatorState) -> None:
    state.add_pattern("کد {0} برای {1}", 201)


def scripted(code: int) -> Callable[[Emulator, Api], None]:
    """Arm the emulator to answer ``code`` without running the request: for what the service
    says to requests smsbridge never makes (more than one number)."""

    def arm(emulator: Emulator, api: Api) -> None:
        body, content_type = pattern_reply(api, str(code))
        emulator.faults.http_status(200, body, content_type=content_type)

    return arm


def _from_state(setup: Setup) -> Callable[[Emulator, Api], None]:
    def arm(emulator: Emulator, _api: Api) -> None:
        setup(emulator.state)

    return arm


Arm = Callable[[Emulator, Api], None]
OTP_ID = str(DEMO_PATTERN)
# code, category, how the emulator comes to answer it, the template, the recipient
PATTERN_CASES: list[tuple[int, ErrorCategory, Arm, Template, str]] = [
    (0, ErrorCategory.AUTHENTICATION, _from_state(account(password="changed")), OTP, ONE),
    (-1, ErrorCategory.ACCOUNT_RESTRICTED, _from_state(account(pattern_access=False)), OTP, ONE),
    (-2, ErrorCategory.RECIPIENT_REJECTED, scripted(-2), OTP, ONE),
    (-3, ErrorCategory.SENDER_REJECTED, _from_state(account(service_line=None)), OTP, ONE),
    (-4, ErrorCategory.CONTENT_REJECTED, _from_state(nothing), Template(id="999"), ONE),
    (-4, ErrorCategory.CONTENT_REJECTED, _from_state(_unapproved), Template(id="200"), ONE),
    (
        -5,
        ErrorCategory.CONTENT_REJECTED,
        _from_state(_two_variables),
        Template(id="201", variables=["1"]),
        ONE,
    ),
    (-5, ErrorCategory.CONTENT_REJECTED, _from_state(nothing), Template(id=OTP_ID), ONE),
    (
        -5,
        ErrorCategory.CONTENT_REJECTED,
        _from_state(nothing),
        Template(id=OTP_ID, variables=[" "]),
        ONE,
    ),
    (-6, ErrorCategory.PROVIDER_UNAVAILABLE, _from_state(service(maintenance=True)), OTP, ONE),
    (-7, ErrorCategory.SENDER_REJECTED, _from_state(account(service_line="5000999")), OTP, ONE),
    *[
        (
            -10,
            ErrorCategory.CONTENT_REJECTED,
            _from_state(nothing),
            Template(id=OTP_ID, variables=[variable]),
            ONE,
        )
        for variable in ("see www.example.com", "10.0.0.1", "ali@example.ir")
    ],
    (2, ErrorCategory.INSUFFICIENT_CREDIT, _from_state(account(credit=0.5)), OTP, ONE),
    (3, ErrorCategory.RATE_LIMITED, _from_state(account(daily_limit=0)), OTP, ONE),
    (11, ErrorCategory.RECIPIENT_REJECTED, _from_state(nothing), OTP, "+447911123456"),
    (19, ErrorCategory.RATE_LIMITED, _from_state(account(hourly_pattern_limit=0)), OTP, ONE),
]
"""Every pattern code, produced by emulator state (or, for -2, by a scripted reply)."""


class TestPatternCodes:
    """Each code rejects the recipient with its category and the raw code, on both APIs."""

    def test_every_code_is_covered(self) -> None:
        """The cases cover the whole pattern table, the emulator's codes, and no other."""
        covered = {case[0] for case in PATTERN_CASES}
        assert {row.code for row in PATTERN_CODES} <= covered
        assert covered == {int(code) for code in PatternCode}

    @APIS
    @pytest.mark.parametrize(
        ("code", "category", "arm", "template", "recipient"),
        PATTERN_CASES,
        ids=[f"{case[0]}-{n}" for n, case in enumerate(PATTERN_CASES)],
    )
    def test_code(
        self,
        emulator: Emulator,
        api: Api,
        code: int,
        category: ErrorCategory,
        arm: Arm,
        template: Template,
        recipient: str,
    ) -> None:
        """Rejected (never unknown), nothing sent, and the raw code kept."""
        arm(emulator, api)
        with client_for(emulator, api) as client:
            (result,) = client.send(template, [recipient])
        assert result.status is SendStatus.REJECTED
        assert result.error is not None
        assert (result.error.category, result.error.provider_code) == (category, code)
        assert result.error.retryable is (category is ErrorCategory.PROVIDER_UNAVAILABLE)
        assert emulator.state.sent == []

    @APIS
    @pytest.mark.parametrize(
        ("value", "category"),
        [
            ("-99", ErrorCategory.UNKNOWN_PROVIDER_ERROR),
            ("1", ErrorCategory.UNKNOWN_PROVIDER_ERROR),
            ("123456", ErrorCategory.OUTCOME_UNKNOWN),
            ("", ErrorCategory.OUTCOME_UNKNOWN),
            (None, ErrorCategory.OUTCOME_UNKNOWN),
            ("0000000000000", ErrorCategory.OUTCOME_UNKNOWN),
        ],
        ids=["unlisted-code", "success-code-without-id", "neither", "empty", "none", "zeros"],
    )
    def test_unreadable_results(
        self, emulator: Emulator, api: Api, value: str | None, category: ErrorCategory
    ) -> None:
        """An unlisted code is an unknown provider error keeping the code; a result that is
        neither a code nor a recId leaves the outcome unknown (it may have been sent)."""
        body, content_type = pattern_reply(api, value)
        emulator.faults.http_status(200, body, content_type=content_type)
        with client_for(emulator, api) as client:
            (result,) = client.send(OTP, [ONE])
        assert result.error is not None
        assert result.error.category is category
        unknown = category is ErrorCategory.OUTCOME_UNKNOWN
        assert result.status is (SendStatus.UNKNOWN if unknown else SendStatus.REJECTED)


class TestCampaign:
    """send_bulk through a journal: an OTP to 1,000 numbers, one request each."""

    @APIS
    def test_otp_to_a_thousand_numbers(self, emulator: Emulator, api: Api, tmp_path: Path) -> None:
        """Every recipient accepted with its own recId, in the journal and on the emulator,
        which holds the rendered text for each of them."""
        recipients = [f"+98912{n:07d}" for n in range(1000)]
        journal = tmp_path / "otp.sqlite"
        started = time.perf_counter()
        with client_for(emulator, api, concurrency=16) as client:
            summary = client.send_bulk(OTP, recipients, journal=journal)
        elapsed = time.perf_counter() - started
        assert summary.totals.accepted == 1000, summary
        sent = emulator.state.sent
        assert len(sent) == 1000
        assert {m.text for m in sent} == {OTP_TEXT}
        assert sorted("+" + m.recipient for m in sent) == recipients
        with open_journal(journal) as book:
            rows = {row.recipient: row for row in book.rows()}
        assert {row.state for row in rows.values()} == {RowState.ACCEPTED}
        assert {number: row.message_id for number, row in rows.items()} == {
            "+" + m.recipient: str(m.rec_id) for m in sent
        }
        assert len(emulator.state.requests) == 1000
        assert elapsed < 30, f"1,000 pattern sends took {elapsed:.1f} s"
