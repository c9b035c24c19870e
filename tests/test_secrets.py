"""Secrets and personal data stay out of repr, str, errors and logs."""

from __future__ import annotations

import io
import json
import logging
import re
import traceback
from collections.abc import Iterator, Sequence
from typing import Self

import pytest
import structlog
from leak_support import number_ending, whole_number

from smsbridge import (
    AuthenticationError,
    BaseProvider,
    Batch,
    Capabilities,
    Client,
    ConfigurationError,
    ErrorCategory,
    ProviderURL,
    RecipientResult,
    Secret,
    SendStatus,
    hookimpl,
)
from smsbridge._redact import mask_number
from smsbridge.transport import MockTransport, Request, Response

PASSWORD = "s3cr3t-Pa55"
TEXT = "Your one-time code is 880022"
NUMBERS = ["+989123456789", "+989351234567"]


class VaultProvider(BaseProvider):
    """A provider that needs credentials: it puts them in each request (as real services
    want) and names the password as a secret."""

    scheme = "vault"
    capabilities = Capabilities(max_batch_size=1)

    def __init__(self, username: str, password: Secret) -> None:
        self.username = username
        self.password = password

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        username, password = url.require_credentials()
        return cls(username, password)

    def secrets(self) -> Sequence[str]:
        return (self.password.reveal(),)

    def request_for(self, batch: Batch) -> Request:
        body = {
            "user": self.username,
            "password": self.password.reveal(),
            "to": list(batch.recipients),
            "text": getattr(batch.message, "text", ""),
        }
        return Request(
            method="POST", url="https://vault.example/send", content=json.dumps(body).encode()
        )

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        body = response.json()
        if "error" in body:
            raise AuthenticationError(
                "wrong username or password",
                provider=self.name,
                provider_code=401,
                provider_text=body["error"],
            )
        return [
            RecipientResult(recipient=n, status=SendStatus.ACCEPTED, message_id=f"v{i}")
            for i, n in enumerate(body["accepted"])
        ]


def vault_service(request: Request) -> Response:
    """The vault's side of the wire; like many real services it echoes a wrong login back."""
    body = json.loads(request.content)
    if body["password"] != PASSWORD:
        answer = {"error": f"login {body['user']}:{body['password']} refused"}
    else:
        answer = {"accepted": body["to"]}
    return Response(status_code=200, content=json.dumps(answer).encode())


VAULT_TRANSPORT = MockTransport(vault_service)


class VaultPlugin:
    """Registers vault://."""

    @hookimpl
    def smsbridge_register_providers(self) -> list[type[BaseProvider]]:
        return [VaultProvider]


def vault(url: str = f"vault://demo:{PASSWORD}@/") -> Client:
    """A client on the vault provider, reaching the vault's service."""
    return Client(url, plugins=[VaultPlugin()], transport=(VAULT_TRANSPORT, VAULT_TRANSPORT))


class BuildCrashing(VaultProvider):
    """A provider bug before anything is sent."""

    def request_for(self, batch: Batch) -> Request:
        raise RuntimeError(f"boom {self.password.reveal()} {batch.recipients[0]}")


class ParseCrashing(VaultProvider):
    """A provider bug after the request went out."""

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        raise RuntimeError(f"boom {self.password.reveal()} {batch.recipients[0]}")


def crashing(cls: type[VaultProvider]) -> Client:
    """A client on a crashing vault provider."""
    provider = cls("demo", Secret(PASSWORD))
    return Client(provider=provider, transport=(VAULT_TRANSPORT, VAULT_TRANSPORT))


def leaks(text: str) -> list[str]:
    """Every secret or piece of personal data found in ``text``."""
    found = [re.compile(re.escape(PASSWORD)), re.compile(re.escape(TEXT)), whole_number("880022")]
    found += [number_ending(n[3:]) for n in NUMBERS]
    return [match.group() for pattern in found if (match := pattern.search(text))]


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


# Builds its providers from URLs on purpose: sms_outbox must not stand in for them.
@pytest.mark.sms_real_providers
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
        for result in report:
            assert result.error is not None
            assert result.error.category is ErrorCategory.AUTHENTICATION
            # the service echoed the login; the provider named the password as a secret
            assert result.error.provider_text == "login demo:******** refused"
        assert "not-it" not in repr(report)
        assert "not-it" not in str(report.to_dict())


# Builds its providers from URLs on purpose: sms_outbox must not stand in for them.
@pytest.mark.sms_real_providers
class TestLogs:
    """Log events mask phone numbers, leave the text out, and never hold a secret."""

    @staticmethod
    def send_everything() -> None:
        """A send, a failed send, and crashes before and after the request went out."""
        vault().send(TEXT, NUMBERS, reference="order-1")
        vault("vault://demo:wrong@/").send(TEXT, NUMBERS)
        crashing(BuildCrashing).send(TEXT, NUMBERS)
        crashing(ParseCrashing).send(TEXT, NUMBERS)

    def test_captured_events(self, caplog: pytest.LogCaptureFixture) -> None:
        """Nothing in any event leaks: not the message, not any attribute of the record."""
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        self.send_everything()
        records = [r for r in caplog.records if r.name == "smsbridge"]
        assert {r.event for r in records} >= {  # type: ignore[attr-defined]
            "sms_send_started",
            "sms_batch_sent",
            "sms_batch_failed",
            "sms_request_build_crashed",
            "sms_reply_parse_crashed",
            "sms_send_finished",
        }
        rendered = repr([(r.getMessage(), vars(r)) for r in records])
        assert leaks(rendered) == []
        assert "wrong" not in rendered
        assert all(r.exc_info is None for r in records)

    def test_crashes_name_masked_recipients(self, caplog: pytest.LogCaptureFixture) -> None:
        """A crash event shows which request crashed by its first recipient, masked."""
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        crashing(BuildCrashing).send(TEXT, NUMBERS)
        crashed = [
            r for r in caplog.records if r.name == "smsbridge" and r.levelno >= logging.ERROR
        ]
        assert len(crashed) == 2
        assert sorted(getattr(r, "first_recipient", "missing") for r in crashed) == [
            "*********4567",
            "*********6789",
        ]

    @pytest.fixture
    def rendered(self) -> Iterator[io.StringIO]:
        """What an application's log output shows: a plain stdlib line formatter and
        structlog's stdlib integration rendering every field as JSON."""
        stream = io.StringIO()
        plain = logging.StreamHandler(stream)
        plain.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        structured = logging.StreamHandler(stream)
        structured.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processor=structlog.processors.JSONRenderer(),
                foreign_pre_chain=[
                    structlog.stdlib.ExtraAdder(),
                    structlog.stdlib.add_log_level,
                    structlog.processors.format_exc_info,
                ],
            )
        )
        logger = logging.getLogger("smsbridge")
        level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(plain)
        logger.addHandler(structured)
        try:
            yield stream
        finally:
            logger.removeHandler(plain)
            logger.removeHandler(structured)
            logger.setLevel(level)

    def test_rendered_output(self, rendered: io.StringIO) -> None:
        """With logging configured to print every field, the printed lines leak nothing."""
        self.send_everything()
        out = rendered.getvalue()
        assert "sms_send_finished provider=vault" in out
        assert '"event": "sms_send_finished"' in out
        assert '"provider": "vault"' in out
        assert leaks(out) == []
        assert "Traceback" not in out
        assert "boom" not in out


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
