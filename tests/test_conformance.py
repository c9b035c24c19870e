"""The provider contract (smsbridge.testing.conformance), run for the built-in fake provider.

Plugins run the same suite from their own tests (Melipayamak's, against its emulator, lives in
providers/melipayamak/tests). The example in the suite's docstring is run here too, so the
documented way to use it keeps working.
"""

from __future__ import annotations

import re
import textwrap

import pytest

import smsbridge.testing.conformance as conformance
from smsbridge import AsyncClient, Client, ErrorCategory, Template
from smsbridge.testing import FakeOutbox, FakeProvider
from smsbridge.testing.conformance import Harness, ProviderConformance


class TestFakeConformance(ProviderConformance):
    """The fake provider keeps the send contract (through fake://, on the shared outbox)."""

    @pytest.fixture
    def harness(self, sms_outbox: FakeOutbox) -> Harness:
        sms_outbox.add_template("otp", "Your code is {0}")
        providers: list[FakeProvider] = []

        def tracked(client: Client | AsyncClient) -> FakeProvider:
            assert isinstance(client.provider, FakeProvider)
            providers.append(client.provider)
            return client.provider

        def connect() -> Client:
            client = Client("fake://")
            tracked(client)
            return client

        def connect_async() -> AsyncClient:
            client = AsyncClient("fake://")
            tracked(client)
            return client

        return Harness(
            name="fake",
            connect=connect,
            connect_async=connect_async,
            wire=lambda: [(sms.recipient, sms.text) for sms in sms_outbox],
            requests=lambda: sum(provider.requests for provider in providers),
            fail_requests=lambda count: sms_outbox.fail_next(
                ErrorCategory.PROVIDER_UNAVAILABLE, times=count
            ),
            lose_replies=lambda count: sms_outbox.lose_next_reply(times=count),
            template=Template(id="otp", variables=["4821"]),
            template_text="Your code is 4821",
        )


def docstring_example() -> str:
    """The example test file in the suite's module docstring."""
    doc = conformance.__doc__ or ""
    match = re.search(r"::\n\n(.*?)\n\n(?=\S)", doc, re.DOTALL)
    assert match, "the conformance docstring lost its example"
    return textwrap.dedent(match.group(1))


class TestSuiteItself:
    """The suite is importable, documented by a working example, and can fail."""

    def test_docstring_example_runs(self, pytester: pytest.Pytester) -> None:
        """The documented subclass runs every check, skipping none (it gives every hook)."""
        pytester.makepyfile(test_example=docstring_example())
        result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
        checks = [name for name in dir(ProviderConformance) if name.startswith("test_")]
        result.assert_outcomes(passed=len(checks))

    def test_hooks_not_given_are_skipped(self, pytester: pytest.Pytester) -> None:
        """A minimal harness runs the core checks and skips the failure checks by name."""
        pytester.makepyfile(
            test_minimal="""
            import pytest
            from smsbridge import Client
            from smsbridge.testing import FakeOutbox, FakeProvider
            from smsbridge.testing.conformance import Harness, ProviderConformance

            class TestMinimal(ProviderConformance):
                @pytest.fixture
                def harness(self):
                    outbox, providers = FakeOutbox(), []

                    def connect():
                        providers.append(FakeProvider(outbox=outbox))
                        return Client(provider=providers[-1])

                    return Harness(
                        name="minimal",
                        connect=connect,
                        wire=lambda: [(sms.recipient, sms.text) for sms in outbox],
                        requests=lambda: sum(p.requests for p in providers),
                    )
            """
        )
        result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", "-rs")
        checks = [name for name in dir(ProviderConformance) if name.startswith("test_")]
        result.assert_outcomes(passed=len(checks) - 3, skipped=3)
        result.stdout.fnmatch_lines(
            [
                "*the minimal harness cannot script failures (fail_requests)*",
                "*the minimal harness cannot lose replies (lose_replies)*",
            ]
        )

    def test_catches_a_provider_that_breaks_the_contract(self, pytester: pytest.Pytester) -> None:
        """A provider that mangles Persian text fails the suite, in that check only."""
        pytester.makepyfile(
            test_broken="""
            import attrs
            import pytest
            from smsbridge import Client, Message
            from smsbridge.testing import FakeOutbox, FakeProvider
            from smsbridge.testing.conformance import Harness, ProviderConformance

            class Mangling(FakeProvider):
                def request_for(self, batch):
                    if isinstance(batch.message, Message):
                        text = batch.message.text.encode("ascii", "replace").decode()
                        batch = attrs.evolve(batch, message=attrs.evolve(batch.message, text=text))
                    return super().request_for(batch)

            class TestBroken(ProviderConformance):
                @pytest.fixture
                def harness(self):
                    outbox, providers = FakeOutbox(), []

                    def connect():
                        providers.append(Mangling(outbox=outbox))
                        return Client(provider=providers[-1])

                    return Harness(
                        name="broken",
                        connect=connect,
                        wire=lambda: [(sms.recipient, sms.text) for sms in outbox],
                        requests=lambda: sum(p.requests for p in providers),
                    )
            """
        )
        result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", "-rf")
        checks = [name for name in dir(ProviderConformance) if name.startswith("test_")]
        result.assert_outcomes(passed=len(checks) - 4, failed=1, skipped=3)
        result.stdout.fnmatch_lines(
            ["FAILED test_broken.py::TestBroken::test_persian_text_intact*"]
        )

    def test_without_a_harness(self, pytester: pytest.Pytester) -> None:
        """A subclass that forgets the fixture is told what to add."""
        pytester.makepyfile(
            test_forgot="""
            from smsbridge.testing.conformance import ProviderConformance

            class TestForgot(ProviderConformance):
                pass
            """
        )
        result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", "-x")
        result.stdout.fnmatch_lines(["*TestForgot needs a 'harness' fixture*"])

    def test_not_exported_from_testing(self) -> None:
        """It is a module of its own (it imports pytest), not part of smsbridge.testing."""
        import smsbridge.testing

        assert "ProviderConformance" not in smsbridge.testing.__all__
        for name in conformance.__all__:
            assert getattr(conformance, name) is not None
