"""The provider without a server: URLs and construction, the requests it builds, and the
replies it reads, fed as bytes (it is sans-I/O)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import pytest
from kave_support import KEY, LINE, kave_body
from smsbridge_kavenegar import DEFAULT_ENDPOINT, KavenegarProvider, local_id

import smsbridge
from smsbridge import (
    Balance,
    ConfigurationError,
    DeliveryStatus,
    ErrorCategory,
    InvalidMessageError,
    Message,
    SendStatus,
    Template,
)
from smsbridge.config import ProviderURL, Secret
from smsbridge.exceptions import (
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    UnknownProviderError,
)
from smsbridge.provider import Batch
from smsbridge.transport import Request, Response


def provider(**kwargs: Any) -> KavenegarProvider:
    return KavenegarProvider(api_key=kwargs.pop("api_key", KEY), **kwargs)


def form(request: Request) -> dict[str, str]:
    """The request's form fields (each given once)."""
    assert request.header("Content-Type") == "application/x-www-form-urlencoded; charset=utf-8"
    fields = parse_qs(request.content.decode(), keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in fields.values())
    return {name: values[0] for name, values in fields.items()}


def reply(status: int = 200, entries: Any = None, *, http: int | None = None) -> Response:
    return Response(
        status_code=status if http is None else http,
        headers=[("Content-Type", "application/json")],
        content=kave_body(status, entries),
    )


def entry(messageid: Any = 8792343, status: Any = 1, **more: Any) -> dict[str, Any]:
    return {"messageid": messageid, "status": status, "cost": 120, **more}


BATCH = Batch(message=Message(text="سلام"), recipients=("+989121234567", "+447911123456"))


class TestConfiguration:
    """kavenegar:// URLs and keyword construction."""

    def test_url(self) -> None:
        """The key is the user part; from= and endpoint= are the provider's."""
        url = ProviderURL.parse(f"kavenegar://{KEY}@/?from={LINE}&endpoint=http://127.0.0.1:8090")
        built = KavenegarProvider.from_url(url)
        assert built.secrets() == (KEY,)
        assert (built.sender, built.endpoint) == (LINE, "http://127.0.0.1:8090")

    def test_defaults(self) -> None:
        """Without from= and endpoint=: the account's default line, the real API."""
        built = KavenegarProvider.from_url(ProviderURL.parse(f"kavenegar://{KEY}@"))
        assert (built.sender, built.endpoint) == (None, DEFAULT_ENDPOINT)
        assert built.request_for(BATCH).url.startswith(f"https://api.kavenegar.com/v1/{KEY}/")

    def test_through_a_client(self) -> None:
        """smsbridge.Client builds it from the URL; timeout= is the client's."""
        url = f"kavenegar://{KEY}@/?from={LINE}&timeout=7&concurrency=3"
        with smsbridge.Client(url, autoload_plugins=True) as client:
            assert isinstance(client.provider, KavenegarProvider)
            assert client.settings.timeout == 7.0

    def test_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """SMSBRIDGE_URL names it too."""
        monkeypatch.setenv("SMSBRIDGE_URL", f"kavenegar://{KEY}@/?from={LINE}")
        with smsbridge.Client(autoload_plugins=True) as client:
            assert isinstance(client.provider, KavenegarProvider)

    @pytest.mark.parametrize(
        ("url", "match"),
        [
            (f"kavenegar://{KEY}@/?max_connections=3", "does not take max_connections"),
            ("kavenegar:///?from=1", "user part"),
            (f"kavenegar://{KEY}", "user part"),
            (f"kavenegar://user:{KEY}@/", "user part"),
            (f"kavenegar://{KEY}@api.kavenegar.com/", "user part"),
            (f"kavenegar://{KEY}@/?endpoint=ftp://x", "http"),
            (f"kavenegar://{KEY}@/?endpoint=http://x/?a=1", "without"),
        ],
    )
    def test_bad_urls(self, url: str, match: str) -> None:
        """Refused before any I/O, without quoting the key."""
        with pytest.raises(ConfigurationError, match=match) as caught:
            KavenegarProvider.from_url(ProviderURL.parse(url))
        assert KEY not in str(caught.value)

    def test_keywords(self) -> None:
        """Keyword construction; the key may be a Secret; a control character is refused."""
        built = KavenegarProvider(api_key=Secret(KEY), sender="10004346", endpoint="http://h:1/")
        assert built.endpoint == "http://h:1"
        with pytest.raises(ConfigurationError, match="needs an API key"):
            KavenegarProvider(api_key="")
        with pytest.raises(ConfigurationError, match="control"):
            KavenegarProvider(api_key="abc\ndef")

    def test_no_key_in_repr_or_account(self) -> None:
        """repr and account() show no key (the account is a fingerprint of it)."""
        built = provider(sender=LINE)
        assert KEY not in repr(built)
        assert KEY not in built.account()
        assert built.account() != provider(api_key="another-key").account()
        assert built.account() == provider().account()


class TestRequests:
    """What goes on the wire."""

    def test_send(self) -> None:
        """sms/send, POSTed form-encoded with every receptor (00 form) and the text as given."""
        request = provider(sender=LINE).request_for(BATCH)
        assert request.method == "POST"
        assert request.url == f"{DEFAULT_ENDPOINT}/v1/{KEY}/sms/send.json"
        assert not request.idempotent
        assert form(request) == {
            "receptor": "00989121234567,00447911123456",
            "message": "سلام",
            "sender": LINE,
        }
        assert KEY not in repr(request)

    def test_sender_and_flash(self) -> None:
        """Message.sender wins over from=; flash is type=0; no sender at all sends none."""
        batch = Batch(message=Message(text="x", sender="3000", flash=True), recipients=("+98912",))
        assert form(provider(sender=LINE).request_for(batch))["sender"] == "3000"
        assert form(provider(sender=LINE).request_for(batch))["type"] == "0"
        assert "sender" not in form(provider().request_for(BATCH))

    def test_key_is_percent_encoded_in_the_path(self) -> None:
        """A key with reserved characters stays one path segment."""
        request = provider(api_key="a/b c+d").request_for(BATCH)
        assert request.url == f"{DEFAULT_ENDPOINT}/v1/a%2Fb%20c%2Bd/sms/send.json"

    def test_localid_per_receptor_from_the_keys(self) -> None:
        """One localid a receptor, derived from the batch's keys; none without keys."""
        keyed = Batch(message=BATCH.message, recipients=BATCH.recipients, keys=("r:1", "r:2"))
        fields = form(provider().request_for(keyed))
        assert fields["localid"] == f"{local_id('r:1')},{local_id('r:2')}"
        assert "localid" not in form(provider().request_for(BATCH))

    def test_local_id(self) -> None:
        """Deterministic, positive, within a signed 64-bit Long, different per key."""
        ids = {local_id(f"campaign:{n}") for n in range(10_000)}
        assert len(ids) == 10_000
        assert all(0 < int(i) < 2**62 for i in ids)
        assert local_id("ref:+989121234567") == local_id("ref:+989121234567")

    def test_lookup(self) -> None:
        """A template is verify/lookup: one receptor, the template name and the named tokens."""
        template = Template(id="verify", variables={"token": "4821", "token10": "a b"})
        batch = Batch(message=template, recipients=("+989121234567",))
        request = provider(sender=LINE).request_for(batch)
        assert request.url.endswith(f"/v1/{KEY}/verify/lookup.json")
        assert form(request) == {
            "receptor": "00989121234567",
            "template": "verify",
            "token": "4821",
            "token10": "a b",
        }

    def test_queries(self) -> None:
        """Status, settle and balance queries are idempotent POSTs."""
        built = provider()
        status = built.delivery_request_for(["12", "x", "7", "12", "0"])
        assert status is not None
        assert status.url.endswith("/sms/status.json")
        assert form(status) == {"messageid": "7,12"}
        assert built.delivery_request_for(["x", ""]) is None
        settle = built.settle_request_for(["k:1", "k:2"])
        assert settle.url.endswith("/sms/statuslocalmessageid.json")
        assert form(settle) == {"localid": f"{local_id('k:1')},{local_id('k:2')}"}
        balance = built.balance_request_for()
        assert balance.url.endswith("/account/info.json")
        assert all(r.idempotent for r in (status, settle, balance))


class TestValidation:
    """What is refused before any I/O."""

    def test_text_length(self) -> None:
        """At most 900 characters."""
        provider().validate_message(Message(text="a" * 900))
        with pytest.raises(InvalidMessageError, match="900"):
            provider().validate_message(Message(text="a" * 901))

    @pytest.mark.parametrize(
        ("tokens", "match"),
        [
            ({"token2": "x"}, "at least"),
            ({"token": "a b"}, "spaces"),
            ({"token": "4821", "token2": "a_b"}, "underscores"),
            ({"token": "4821", "token3": "a\nb"}, "newlines"),
            ({"token": "1", "token10": "a b c d e f g"}, "at most 5 spaces"),
            ({"token": "1", "token20": " ".join("abcdefghij")}, "at most 8 spaces"),
            ({"token": "1", "token10": "a\nb"}, "newline"),
            ({"token": "x" * 101}, "at most 100"),
            ({"token": "1", "token4": "x"}, "no token 'token4'"),
            ({"token": "\u200b"}, "empty"),
        ],
    )
    def test_bad_tokens(self, tokens: dict[str, str], match: str) -> None:
        """The token rules: no spaces in token..token3, 5 in token10, 8 in token20, 100 chars."""
        with pytest.raises(InvalidMessageError, match=match):
            provider().validate_template(Template(id="verify", variables=tokens))

    def test_good_tokens(self) -> None:
        """The limits themselves are allowed."""
        provider().validate_template(
            Template(
                id="verify",
                variables={
                    "token": "x" * 100,
                    "token2": "علی",
                    "token3": "۴۸۲۱",
                    "token10": "a b c d e f",
                    "token20": " ".join("abcdefghi"),
                },
            )
        )

    def test_template_checks_through_the_client(self) -> None:
        """More than three ordered tokens and a sender are refused too, before any I/O."""
        with smsbridge.Client(f"kavenegar://{KEY}@/?endpoint=http://127.0.0.1:9") as client:
            with pytest.raises(InvalidMessageError, match="at most 3 ordered tokens"):
                client.send(Template(id="verify", variables=["1", "2", "3", "4"]), ["09121234567"])
            with pytest.raises(InvalidMessageError, match="own line"):
                client.send(
                    Template(id="verify", variables={"token": "1"}, sender="1000"), ["09121234567"]
                )
            with pytest.raises(InvalidMessageError, match="spaces"):
                client.send(Template(id="verify", variables={"token": "1 2"}), ["09121234567"])


class TestOrderedTokens:
    """Ordered variables fill token, token2, token3: one Template for this provider and an
    ordered one (Melipayamak's patterns), as a failover client needs."""

    def test_ordered_variables_become_named_tokens(self) -> None:
        batch = Batch(
            message=Template(id="verify", variables=["4821", "Ali"]),
            recipients=("+989121234567",),
        )
        request = provider().request_for(batch)
        fields = dict(parse_qsl(request.content.decode()))
        assert (fields["token"], fields["token2"]) == ("4821", "Ali")
        assert "token3" not in fields

    def test_ordered_tokens_follow_the_token_rules(self) -> None:
        with pytest.raises(InvalidMessageError, match="underscore"):
            provider().validate_template(Template(id="verify", variables=["a_b"]))


class TestSendReplies:
    """Per-recipient results from the entries."""

    def test_accepted(self) -> None:
        """Queued and sent entries are accepted with the messageid as text."""
        results = provider().results_from(reply(200, [entry(11, 1), entry("12", 5)]), BATCH)
        assert [(r.status, r.message_id) for r in results] == [
            (SendStatus.ACCEPTED, "11"),
            (SendStatus.ACCEPTED, "12"),
        ]

    @pytest.mark.parametrize(
        ("status", "outcome", "category"),
        [
            (14, SendStatus.REJECTED, ErrorCategory.RECIPIENT_REJECTED),
            (6, SendStatus.REJECTED, ErrorCategory.RECIPIENT_REJECTED),
            (11, SendStatus.REJECTED, ErrorCategory.RECIPIENT_REJECTED),
            (13, SendStatus.REJECTED, ErrorCategory.UNKNOWN_PROVIDER_ERROR),
            (100, SendStatus.UNKNOWN, ErrorCategory.OUTCOME_UNKNOWN),
            (77, SendStatus.UNKNOWN, ErrorCategory.OUTCOME_UNKNOWN),
            ("1", SendStatus.UNKNOWN, ErrorCategory.OUTCOME_UNKNOWN),
        ],
    )
    def test_refused_entries(
        self, status: Any, outcome: SendStatus, category: ErrorCategory
    ) -> None:
        """A refused entry is rejected with its category, the raw status and the cost kept in
        the provider text; an unreadable one is unknown."""
        results = provider().results_from(reply(200, [entry(1, 1), entry(2, status)]), BATCH)
        assert results[0].accepted
        second = results[1]
        assert (second.status, second.message_id) == (outcome, None)
        assert second.error is not None
        assert second.error.category is category
        assert second.error.provider_code == (status if isinstance(status, int) else None)
        assert "cost 120 rials" in (second.error.provider_text or "")

    @pytest.mark.parametrize("messageid", [None, 0, "0", "", "abc", -3, True, 1.5])
    def test_no_message_id_is_unknown(self, messageid: Any) -> None:
        """A queued entry without a usable id: taken, but unknown."""
        results = provider().results_from(reply(200, [entry(1), entry(messageid)]), BATCH)
        assert results[1].status is SendStatus.UNKNOWN

    @pytest.mark.parametrize("entries", [None, {}, [entry()], [entry(), entry(), entry()], [1, 2]])
    def test_entries_that_do_not_match(self, entries: Any) -> None:
        """Entries missing, of the wrong type or count: the whole request is unknown."""
        with pytest.raises(OutcomeUnknownError):
            provider().results_from(reply(200, entries), BATCH)

    def test_return_code_in_the_body(self) -> None:
        """A return code other than 200 raises its mapped error with the raw code and text."""
        with pytest.raises(ProviderError) as caught:
            provider().results_from(reply(418), BATCH)
        assert caught.value.category is ErrorCategory.INSUFFICIENT_CREDIT
        assert (caught.value.provider_code, caught.value.provider_text) == (418, "ok")

    def test_body_wins_over_the_http_status(self) -> None:
        """The body's return.status is the answer, whatever the HTTP status says."""
        response = reply(200, [entry(1), entry(2)], http=500)
        assert all(r.accepted for r in provider().results_from(response, BATCH))
        with pytest.raises(ProviderUnavailableError):
            provider().results_from(reply(409, http=200), BATCH)

    @pytest.mark.parametrize(
        ("http", "body", "expected"),
        [
            (200, b"<html>ok</html>", OutcomeUnknownError),
            (200, b'{"entries": []}', OutcomeUnknownError),
            (200, b'{"return": {"status": "200"}}', OutcomeUnknownError),
            (200, b"\xff\xfe", OutcomeUnknownError),
            (500, b"<html>Internal Server Error</html>", ProviderUnavailableError),
            (503, b"", ProviderUnavailableError),
            (502, b"Bad Gateway", OutcomeUnknownError),
            (504, b'{"return": null}', OutcomeUnknownError),
            (403, b"<html>Forbidden</html>", UnknownProviderError),
            (404, b"[]", UnknownProviderError),
        ],
    )
    def test_not_the_services_format(self, http: int, body: bytes, expected: type) -> None:
        """A body that is not JSON, or has no return, is judged by its HTTP status."""
        response = Response(status_code=http, content=body)
        with pytest.raises(expected) as caught:
            provider().results_from(response, BATCH)
        assert type(caught.value) is expected
        assert caught.value.provider_code == http


class TestQueryReplies:
    """Delivery status, settlements and balance read from replies."""

    def test_delivery(self) -> None:
        """One report per id, in order; unlisted and unanswered ids are unknown."""
        entries = [
            {"messageid": 7, "status": 10, "statustext": "x"},
            {"messageid": 12, "status": 100},
            {"messageid": 13, "status": 99},
        ]
        reports = provider().delivery_from(reply(200, entries), ["12", "7", "13", "14", "x"])
        assert [(r.message_id, r.status, r.provider_code) for r in reports] == [
            ("12", DeliveryStatus.UNKNOWN, 100),
            ("7", DeliveryStatus.DELIVERED, 10),
            ("13", DeliveryStatus.UNKNOWN, 99),
            ("14", DeliveryStatus.UNKNOWN, None),
            ("x", DeliveryStatus.UNKNOWN, None),
        ]
        assert [r.status for r in provider().delivery_from(None, ["x"])] == [DeliveryStatus.UNKNOWN]

    def test_delivery_errors(self) -> None:
        """A refused status call raises; entries that are no list raise."""
        with pytest.raises(ProviderError, match="API key"):
            provider().delivery_from(reply(403), ["1"])
        with pytest.raises(UnknownProviderError):
            provider().delivery_from(reply(200, {"a": 1}), ["1"])
        with pytest.raises(ProviderUnavailableError):
            provider().delivery_from(Response(status_code=500, content=b"x"), ["1"])

    def test_settlements(self) -> None:
        """Found: sent with its id and status; 100: not sent; anything unclear: None."""
        keys = ["c:0", "c:1", "c:2", "c:3"]
        entries = [
            {"messageid": 55, "localid": local_id("c:0"), "status": 10},
            {"messageid": 0, "localid": int(local_id("c:1")), "status": 100},
            {"messageid": None, "localid": local_id("c:2"), "status": 1},
        ]
        settled = provider().settled_from(reply(200, entries), keys)
        assert [(s.key, s.sent, s.message_id, s.status) for s in settled] == [
            ("c:0", True, "55", DeliveryStatus.DELIVERED),
            ("c:1", False, None, DeliveryStatus.UNKNOWN),
            ("c:2", None, None, DeliveryStatus.PENDING),
            ("c:3", None, None, DeliveryStatus.UNKNOWN),
        ]
        assert [s.sent for s in provider().settled_from(None, ["k"])] == [None]
        with pytest.raises(ProviderError):
            provider().settled_from(reply(403), keys)

    def test_balance(self) -> None:
        """account/info: remaincredit in rials."""
        entries = {"remaincredit": 1500000, "expiredate": 13548889, "type": "master"}
        assert provider().balance_from(reply(200, entries)) == Balance(
            amount=1500000.0, unit="rials", provider="kavenegar"
        )

    @pytest.mark.parametrize("entries", [None, [], {"remaincredit": "12"}, {"remaincredit": True}])
    def test_balance_without_credit(self, entries: Any) -> None:
        """No number in remaincredit raises."""
        with pytest.raises(UnknownProviderError, match="no credit"):
            provider().balance_from(reply(200, entries))

    def test_body_is_read_as_json_not_by_content_type(self) -> None:
        """A JSON body sent as text/html is still read."""
        body = json.dumps({"return": {"status": 200}, "entries": {"remaincredit": 5}}).encode()
        response = Response(status_code=200, headers=[("Content-Type", "text/html")], content=body)
        assert provider().balance_from(response).amount == 5.0
