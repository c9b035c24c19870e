"""Secrets and personal data stay out of repr, str, errors and logs."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Self

import pytest
from structlog.testing import capture_logs

from smsbridge import (
    AuthenticationError,
    BaseProvider,
    Capabilities,
    Client,
    ConfigurationError,
    Message,
    ProviderURL,
    RecipientResult,
    Secret,
    SendStatus,
    hookimpl,
)
from smsbridge._redact import mask_number

PASSWORD = "s3cr3t-Pa55"
TEXT = "Your one-time code is 880022"
NUMBERS = ["+989123456789", "+989351234567"]


class VaultProvider(BaseProvider):
    """A provider that needs credentials; the password is "wrong" when it is not PASSWORD."""

    scheme = "vault"
    capabilities = Capabilities(max_batch_size=1)

    def __init__(self, username: str, password: Secret) -> None:
        self.username = username
        self.password = password

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        username, password = url.require_credentials()
        return cls(username, password)

    def send(self, message: Message, recipients: Sequence[str]) -> list[RecipientResult]:
        if self.password.reveal() != PASSWORD:
            raise AuthenticationError("wrong username or password", provider=self.name)
        return [
            RecipientResult(recipient=n, status=SendStatus.ACCEPTED, message_id=f"v{i}")
            for i, n in enumerate(recipients)
        ]


class VaultPlugin:
    """Registers vault://."""

    @hookimpl
    def smsbridge_register_providers(self) -> list[type[BaseProvider]]:
        return [VaultProvider]


def vault(url: str = f"vault://demo:{PASSWORD}@/") -> Client:
    """A client on the vault provider."""
    return Client(url, plugins=[VaultPlugin()])


def leaks(text: str) -> list[str]:
    """Every secret or piece of personal data found in ``text``."""
    found = [PASSWORD, TEXT, "880022"] + [n[3:] for n in NUMBERS]
    return [item for item in found if item in text]


class TestRepr:
    """repr and str never show a password."""

    @pytest.mark.parametrize(
        "raw",
        [
            f"vault://demo:{PASSWORD}@/",
            f"vault://demo:{PASSWORD}@api.example:8443/v1?from=5000",
            "vault://demo:s3cr3t%2DPa55@/",
            f"vault://:{PASSWORD}@/",
        ],
    )
    def test_provider_url(self, raw: str) -> None:
        """str, repr and the attrs-generated fields of a parsed URL hide the password."""
        url = ProviderURL.parse(raw)
        assert url.password is not None
        assert url.password.reveal() == PASSWORD
        assert PASSWORD not in str(url)
        assert PASSWORD not in repr(url)
        assert PASSWORD not in repr(url.password)
        assert PASSWORD not in f"{url} {url!r} {url.password}"

    def test_client_and_provider(self) -> None:
        """Neither the client nor the provider shows the password."""
        client = vault()
        assert PASSWORD not in repr(client)
        assert PASSWORD not in repr(client.provider)
        assert PASSWORD not in repr(vars(client.provider))

    def test_fake_with_credentials(self) -> None:
        """The fake provider ignores credentials without echoing them."""
        client = Client(f"fake://demo:{PASSWORD}@/")
        assert PASSWORD not in repr(client)


class TestErrors:
    """Errors about a URL never quote its password, not even in the traceback."""

    @pytest.mark.parametrize(
        "raw",
        [
            f"vault://demo:{PASSWORD}@host:port/",
            f"vault://demo:{PASSWORD}@[::1/",
            f"vault://demo:{PASSWORD}@/?a=1&a=2",
            f"twilio://demo:{PASSWORD}@/",
            f"vault:demo:{PASSWORD}@/",
            f"fake://demo:{PASSWORD}@/?colour=red",
            f"vault://demo:{PASSWORD}@/?max_segments=0",
        ],
    )
    def test_malformed(self, raw: str) -> None:
        """Each malformed URL raises ConfigurationError that does not contain the secret."""
        with pytest.raises(ConfigurationError) as caught:
            vault(raw)
        rendered = "".join(traceback.format_exception(caught.value))
        assert PASSWORD not in rendered
        assert PASSWORD not in repr(caught.value)

    @pytest.mark.parametrize("raw", ["vault://", "vault://demo@/", f"vault://:{PASSWORD}@/"])
    def test_missing_credentials(self, raw: str) -> None:
        """A provider that needs credentials says so, before sending, without echoing any."""
        with pytest.raises(ConfigurationError, match="needs credentials") as caught:
            vault(raw)
        assert PASSWORD not in str(caught.value)

    def test_wrong_password(self) -> None:
        """An authentication failure is a per-recipient result that does not echo the secret."""
        report = vault("vault://demo:not-it@/").send(TEXT, NUMBERS)
        assert report.rejected == 2
        assert "not-it" not in repr(report)
        assert "not-it" not in str(report.to_dict())


class TestLogs:
    """Log events mask phone numbers, leave the text out, and never hold a secret."""

    def test_captured_events(self) -> None:
        """A send, a failed send and a crash: nothing in any event leaks."""

        class Crashing(VaultProvider):
            def send(self, message: Message, recipients: Sequence[str]) -> list[RecipientResult]:
                raise RuntimeError("boom")

        with capture_logs() as logs:
            vault().send(TEXT, NUMBERS, reference="order-1")
            vault("vault://demo:wrong@/").send(TEXT, NUMBERS)
            Client(provider=Crashing("demo", Secret(PASSWORD))).send(TEXT, NUMBERS)
        assert {e["event"] for e in logs} >= {
            "sms_send_started",
            "sms_batch_sent",
            "sms_batch_failed",
            "sms_batch_crashed",
            "sms_send_finished",
        }
        rendered = repr(logs)
        assert leaks(rendered) == []
        crashed = [e for e in logs if e["event"] == "sms_batch_crashed"]
        assert sorted(e["first_recipient"] for e in crashed) == ["*********4567", "*********6789"]

    def test_rendered_output(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With structlog's default configuration the printed lines leak nothing either."""
        vault().send(TEXT, NUMBERS)
        vault("vault://demo:wrong@/").send(TEXT, NUMBERS)
        out, err = capsys.readouterr()
        assert "sms_send_finished" in out + err
        assert leaks(out + err) == []


class TestMasking:
    """mask_number keeps the last four digits."""

    @pytest.mark.parametrize(
        ("number", "masked"),
        [("+989123456789", "*********6789"), ("12345", "*2345"), ("1234", "****"), ("", "")],
    )
    def test_mask(self, number: str, masked: str) -> None:
        """Everything but the last four characters becomes an asterisk; short ones entirely."""
        assert mask_number(number) == masked


class TestSecretQueryParameters:
    """Credentials passed as URL parameters are masked like passwords."""

    @pytest.mark.parametrize("param", ["token", "api_key", "apiKey", "client_secret", "auth"])
    def test_str_and_repr_mask_credential_parameters(self, param: str) -> None:
        """``?token=...`` never shows its value; ordinary parameters still do."""
        from smsbridge.config import ProviderURL

        url = ProviderURL.parse(f"acme://?{param}=tok-s3cr3t&from=1000")
        assert "tok-s3cr3t" not in str(url)
        assert "tok-s3cr3t" not in repr(url)
        assert "from=1000" in str(url)
