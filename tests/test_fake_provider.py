"""The fake provider, its outbox and the sms_outbox fixture (smsbridge.testing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import smsbridge.testing
from smsbridge import (
    Batch,
    Client,
    ConfigurationError,
    DeliveryStatus,
    ErrorCategory,
    InsufficientCreditError,
    Message,
    ProviderURL,
    Retry,
    SendStatus,
    Template,
)
from smsbridge.testing import MAGIC_NUMBERS, FakeOutbox, FakeProvider
from smsbridge.transport import ReplyLost

A, B = "+989123456789", "+989351234567"


class TestProvider:
    """FakeProvider keeps the provider contract and records into an outbox."""

    def test_from_url(self) -> None:
        """``batch_size`` is the only parameter; it sets max_batch_size."""
        provider = FakeProvider.from_url(ProviderURL.parse("fake://?batch_size=3"))
        assert provider.capabilities.max_batch_size == 3
        assert provider.outbox is smsbridge.testing.outbox

    def test_unknown_param(self) -> None:
        """Other parameters are refused by name."""
        with pytest.raises(ConfigurationError, match="sender"):
            FakeProvider.from_url(ProviderURL.parse("fake://?sender=1"))

    def test_capabilities(self) -> None:
        """It supports every optional feature, so tests can exercise them."""
        caps = FakeProvider().capabilities
        assert (caps.flash, caps.udh, caps.delivery_status, caps.unicode) == (True,) * 4
        assert caps.balance
        assert caps.templates is not None
        assert caps.templates.variables == "any"
        assert caps.max_batch_size == 100

    def test_own_outbox(self, sms_outbox: FakeOutbox) -> None:
        """A provider given its own outbox leaves the shared one alone."""
        private = FakeOutbox()
        report = Client(provider=FakeProvider(outbox=private)).send("hi", [A])
        assert private.recipients == [A]
        assert report[0].message_id == private.messages[0].message_id
        sms_outbox.assert_nothing_sent()

    def test_direct_send(self) -> None:
        """The provider can be driven without a client through its sans-I/O pair and its
        in-memory transport, one result per recipient."""
        outbox = FakeOutbox()
        provider = FakeProvider(outbox=outbox)
        batch = Batch(message=Message(text="hi"), recipients=(A, B), segments=1)
        request = provider.request_for(batch)
        sync_transport, _ = provider.transport()
        results = provider.results_from(sync_transport.handle_request(request, timeout=1), batch)
        assert [r.recipient for r in results] == [A, B]
        assert all(r.status is SendStatus.ACCEPTED for r in results)
        assert [r.message_id for r in results] == [sms.message_id for sms in outbox]
        assert provider.requests == 1

    def test_raises_scripted_error(self) -> None:
        """A scripted failure is raised by the provider's parser as the taxonomy's exception."""
        outbox = FakeOutbox()
        outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, provider_code=2)
        provider = FakeProvider(outbox=outbox)
        batch = Batch(message=Message(text="hi"), recipients=(A,), segments=1)
        response = provider.transport()[0].handle_request(provider.request_for(batch), timeout=1)
        with pytest.raises(InsufficientCreditError) as caught:
            provider.results_from(response, batch)
        assert caught.value.provider == "fake"
        assert caught.value.provider_code == 2
        outbox.assert_nothing_sent()

    def test_lost_reply_is_a_transport_fault(self) -> None:
        """A scripted lost reply is raised by the fake's transport after recording the messages,
        as a real connection would lose it: the engine must settle it as unknown."""
        outbox = FakeOutbox()
        outbox.lose_next_reply()
        provider = FakeProvider(outbox=outbox)
        batch = Batch(message=Message(text="hi"), recipients=(A, B), segments=1)
        with pytest.raises(ReplyLost):
            provider.transport()[0].handle_request(provider.request_for(batch), timeout=1)
        assert outbox.recipients == [A, B]


class TestOutbox:
    """What the outbox records and how it is read."""

    def test_records_everything(self, sms_outbox: FakeOutbox) -> None:
        """Each recipient is one FakeSms with the message's fields and an id."""
        Client("fake://").send(
            Message(text="سلام", sender="5000", flash=True, udh="0500", reference="r"), [A, B]
        )
        first, second = sms_outbox.messages
        assert (first.recipient, first.text, first.sender, first.flash) == (A, "سلام", "5000", True)
        assert (first.udh, first.reference, first.segments) == ("0500", "r", 1)
        assert first.message_id != second.message_id
        assert first.message_id.startswith("fake-")

    def test_sequence_api(self, sms_outbox: FakeOutbox) -> None:
        """len(), iteration and recipients."""
        Client("fake://").send("hi", [A, B])
        assert len(sms_outbox) == 2
        assert [sms.recipient for sms in sms_outbox] == sms_outbox.recipients == [A, B]

    def test_messages_is_a_copy(self, sms_outbox: FakeOutbox) -> None:
        """Changing the returned list does not change the outbox."""
        Client("fake://").send("hi", [A])
        sms_outbox.messages.clear()
        assert len(sms_outbox) == 1

    def test_sent_to_normalises(self, sms_outbox: FakeOutbox) -> None:
        """Lookups accept any form of the number."""
        Client("fake://").send("hi", [A])
        assert len(sms_outbox.sent_to("09123456789")) == 1
        assert len(sms_outbox.sent_to("۰۹۱۲۳۴۵۶۷۸۹")) == 1
        assert sms_outbox.sent_to(B) == []

    def test_ids_stay_unique_after_clear(self, sms_outbox: FakeOutbox) -> None:
        """Clearing does not restart ids, so old and new ids never collide."""
        first = Client("fake://").send("hi", [A]).message_ids
        sms_outbox.clear()
        second = Client("fake://").send("hi", [A]).message_ids
        assert first != second

    def test_clear_forgets_scripts(self, sms_outbox: FakeOutbox) -> None:
        """clear() drops scripted failures, per-number failures and delivery statuses."""
        sms_outbox.fail_next(ErrorCategory.AUTHENTICATION)
        sms_outbox.fail_number(A, ErrorCategory.CONTENT_REJECTED)
        sms_outbox.clear()
        assert Client("fake://").send("hi", [A]).all_accepted


class TestScripting:
    """Scripted outcomes: next request, per number, magic numbers, lost replies, delivery."""

    def test_fail_next_times(self, sms_outbox: FakeOutbox) -> None:
        """``times`` fails that many requests, then sending works again."""
        sms_outbox.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=2)
        client = Client("fake://", retry=Retry(attempts=1))
        assert client.send("hi", [A]).rejected == 1
        assert client.send("hi", [A]).rejected == 1
        assert client.send("hi", [A]).accepted == 1

    def test_fail_number(self, sms_outbox: FakeOutbox) -> None:
        """A scripted number fails every time; the others are unaffected."""
        sms_outbox.fail_number(B, ErrorCategory.CONTENT_REJECTED)
        for _ in range(2):
            report = Client("fake://").send("hi", [A, B])
            assert report[0].accepted
            assert report[1].error is not None
            assert report[1].error.category is ErrorCategory.CONTENT_REJECTED
        assert sms_outbox.recipients == [A, A]

    @pytest.mark.parametrize("written", ["09351234567", "+98 935 123 4567", "۰۹۳۵۱۲۳۴۵۶۷"])
    def test_fail_number_any_form(self, written: str, sms_outbox: FakeOutbox) -> None:
        """fail_number takes the number in any form send accepts."""
        sms_outbox.fail_number(written, ErrorCategory.RECIPIENT_REJECTED)
        report = Client("fake://").send("hi", [A, B])
        assert [r.status for r in report] == [SendStatus.ACCEPTED, SendStatus.REJECTED]

    def test_fail_number_overrides_magic(self, sms_outbox: FakeOutbox) -> None:
        """A scripted number takes precedence over the built-in table."""
        number = "+989120000002"
        sms_outbox.fail_number(number, ErrorCategory.SENDER_REJECTED)
        error = Client("fake://").send("hi", [number])[0].error
        assert error is not None
        assert error.category is ErrorCategory.SENDER_REJECTED

    def test_magic_numbers_table(self) -> None:
        """docs/testing.md's magic-number table is MAGIC_NUMBERS: each number in both forms,
        its category, and the report status a send of it gets."""
        page = (Path(__file__).resolve().parents[1] / "docs" / "testing.md").read_text("utf-8")
        section = page.split("## Magic numbers\n", 1)[1].split("\n## ", 1)[0]
        rows = re.findall(
            r"^\| `(\+\d+)` \| `(0\d+)` \| `(\w+)`[^|]* \| (\w+)", section, re.MULTILINE
        )
        assert {number: ErrorCategory(category) for number, _, category, _ in rows} == MAGIC_NUMBERS
        for number, local, _, status in rows:
            assert "+98" + local[1:] == number
            assert Client("fake://").send("hi", [local])[0].status.value == status

    def test_magic_unknown_is_recorded(self, sms_outbox: FakeOutbox) -> None:
        """The outcome-unknown magic number is in the outbox (it went out) but unknown."""
        report = Client("fake://").send("hi", ["09120000006"])
        assert report[0].status is SendStatus.UNKNOWN
        sms_outbox.assert_sent_to("09120000006")

    def test_lose_next_reply(self, sms_outbox: FakeOutbox) -> None:
        """The whole request goes out but every result is unknown."""
        sms_outbox.lose_next_reply()
        report = Client("fake://").send("hi", [A, B])
        assert report.unknown == 2
        assert sms_outbox.recipients == [A, B]

    def test_delivery(self, sms_outbox: FakeOutbox) -> None:
        """Accepted messages start pending; set_delivery changes what is reported."""
        client = Client("fake://")
        (message_id,) = client.send("hi", [A]).message_ids
        assert client.delivery_status([message_id])[0].status is DeliveryStatus.PENDING
        sms_outbox.set_delivery(message_id, DeliveryStatus.DELIVERED)
        assert client.delivery_status([message_id])[0].status is DeliveryStatus.DELIVERED


class TestTemplates:
    """Template sends through the fake: recorded with their id, variables and rendered text."""

    def test_registered_template_is_rendered(self, sms_outbox: FakeOutbox) -> None:
        """A template added to the outbox is recorded as the text the recipient would read."""
        sms_outbox.add_template("otp", "Your code is {0}, valid {1} minutes")
        report = Client("fake://").send(Template(id="otp", variables=["4821", "5"]), [A, B])
        assert report.all_accepted
        sms = sms_outbox.assert_sent_to(A, template="otp", times=1)
        assert sms.text == "Your code is 4821, valid 5 minutes"
        assert (sms.template_id, sms.variables) == ("otp", ("4821", "5"))
        assert sms_outbox.recipients == [A, B]

    def test_named_variables(self, sms_outbox: FakeOutbox) -> None:
        """Named placeholders are filled from a mapping."""
        sms_outbox.add_template("welcome", "Hi {name}, code {token}")
        Client("fake://").send(Template(id="welcome", variables={"name": "Ali", "token": "9"}), A)
        sms = sms_outbox.assert_sent_to(A, template="welcome")
        assert sms.text == "Hi Ali, code 9"
        assert sms.variables == {"name": "Ali", "token": "9"}

    def test_unknown_template(self, sms_outbox: FakeOutbox) -> None:
        """A template the outbox was not told about is still recorded, with its values."""
        Client("fake://").send(Template(id="7", variables=["4821"]), A)
        sms = sms_outbox.assert_sent_to(A, template="7")
        assert "4821" in sms.text
        with pytest.raises(AssertionError, match="of template 'otp'"):
            sms_outbox.assert_sent_to(A, template="otp")

    def test_clear_forgets_templates(self, sms_outbox: FakeOutbox) -> None:
        """clear() drops registered templates too."""
        sms_outbox.add_template("otp", "Your code is {0}")
        sms_outbox.clear()
        Client("fake://").send(Template(id="otp", variables=["4821"]), A)
        assert sms_outbox.assert_sent_to(A).text != "Your code is 4821"


class TestAssertions:
    """Assertion helpers pass quietly and fail with a message saying what was sent."""

    def test_assert_sent_to(self, sms_outbox: FakeOutbox) -> None:
        """Returns the last matching message; fails naming who was messaged."""
        Client("fake://").send("code 1", [A])
        Client("fake://").send("code 2", [A])
        assert sms_outbox.assert_sent_to("09123456789").text == "code 2"
        assert sms_outbox.assert_sent_to(A, text_contains="1").text == "code 1"
        with pytest.raises(AssertionError, match=r"no SMS containing '3' was sent to"):
            sms_outbox.assert_sent_to(A, text_contains="3")
        with pytest.raises(AssertionError, match=r"sent to: \['\+989123456789'"):
            sms_outbox.assert_sent_to(B)

    def test_assert_sent_to_nobody(self, sms_outbox: FakeOutbox) -> None:
        """With an empty outbox the failure says nothing was sent at all."""
        with pytest.raises(AssertionError, match=r"no SMS was sent to \+989123456789; nothing"):
            sms_outbox.assert_sent_to(A)

    def test_assert_nothing_sent(self, sms_outbox: FakeOutbox) -> None:
        """Passes when empty, fails listing recipients and texts otherwise."""
        sms_outbox.assert_nothing_sent()
        Client("fake://").send("hi", [A])
        with pytest.raises(AssertionError, match=r"1 were taken; sent to: \['\+989123456789'\]"):
            sms_outbox.assert_nothing_sent()

    def test_assert_sent_to_times(self, sms_outbox: FakeOutbox) -> None:
        """``times`` counts the matching messages exactly."""
        client = Client("fake://")
        client.send("code 1", [A])
        client.send("code 2", [A, B])
        assert sms_outbox.assert_sent_to(A, times=2).text == "code 2"
        sms_outbox.assert_sent_to(A, text_contains="1", times=1)
        with pytest.raises(AssertionError, match=r"expected 3 SMS to .*, found 2"):
            sms_outbox.assert_sent_to(A, times=3)
        with pytest.raises(AssertionError, match="expected 0 SMS containing '2'"):
            sms_outbox.assert_sent_to("09351234567", text_contains="2", times=0)

    def test_assert_sent_to_match(self, sms_outbox: FakeOutbox) -> None:
        """A predicate narrows the messages; the failure says a predicate was involved."""
        Client("fake://").send("hi", [A], sender="5000")
        sms = sms_outbox.assert_sent_to(A, match=lambda sms: sms.sender == "5000")
        assert sms.sender == "5000"
        with pytest.raises(AssertionError, match="matching the predicate"):
            sms_outbox.assert_sent_to(A, match=lambda sms: sms.flash)

    def test_assert_not_sent_to(self, sms_outbox: FakeOutbox) -> None:
        """Passes for a number nobody messaged, in any form; fails showing what went there."""
        Client("fake://").send("your code 4821", [A])
        sms_outbox.assert_not_sent_to(B)
        with pytest.raises(AssertionError, match=r"1 went there: \+989123456789: 'your code"):
            sms_outbox.assert_not_sent_to("۰۹۱۲۳۴۵۶۷۸۹")

    def test_failure_shows_the_texts(self, sms_outbox: FakeOutbox) -> None:
        """A failed assertion quotes what was sent, long texts shortened."""
        Client("fake://").send("x" * 60, [A])
        with pytest.raises(AssertionError) as caught:
            sms_outbox.assert_sent_to(B)
        assert f"{A}: '{'x' * 37}...'" in str(caught.value)

    def test_count_and_latest(self, sms_outbox: FakeOutbox) -> None:
        """count_to and latest_to read the messages to one number, in any form."""
        assert sms_outbox.count_to(A) == 0
        assert sms_outbox.latest_to(A) is None
        client = Client("fake://")
        client.send("code 1111", [A, B])
        client.send("code 2222", [A])
        assert sms_outbox.count_to("09123456789") == 2
        assert sms_outbox.count_to(B) == 1
        latest = sms_outbox.latest_to("+98 912 345 6789")
        assert latest is not None
        assert latest.text == "code 2222"

    def test_assert_count(self, sms_outbox: FakeOutbox) -> None:
        """Counts one message per recipient."""
        Client("fake://").send("hi", [A, B])
        sms_outbox.assert_count(2)
        with pytest.raises(AssertionError, match="expected 3 SMS, found 2"):
            sms_outbox.assert_count(3)

    def test_assert_text_contains(self, sms_outbox: FakeOutbox) -> None:
        """Every message must contain the fragment, and there must be one."""
        with pytest.raises(AssertionError, match="none were sent"):
            sms_outbox.assert_text_contains("code")
        Client("fake://").send("your code", [A])
        sms_outbox.assert_text_contains("code")
        Client("fake://").send("hello", [B])
        with pytest.raises(AssertionError, match="1 SMS do not contain"):
            sms_outbox.assert_text_contains("code")


class TestFixture:
    """The sms_outbox fixture, installed through the pytest11 entry point."""

    def test_is_the_module_outbox(self, sms_outbox: FakeOutbox) -> None:
        """The fixture is the very object applications import."""
        assert sms_outbox is smsbridge.testing.outbox

    def test_emptied_before_each_test(self, pytester: pytest.Pytester) -> None:
        """Messages and scripted failures from one test never reach the next."""
        pytester.makepyfile(
            """
            from smsbridge import Client, ErrorCategory

            def test_dirty(sms_outbox):
                Client("fake://").send("hi", ["09123456789"])
                sms_outbox.fail_next(ErrorCategory.AUTHENTICATION)
                sms_outbox.fail_number("+989351234567", ErrorCategory.CONTENT_REJECTED)

            def test_clean(sms_outbox):
                sms_outbox.assert_nothing_sent()
                assert Client("fake://").send("hi", ["09351234567"]).all_accepted
            """
        )
        pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly").assert_outcomes(passed=2)
