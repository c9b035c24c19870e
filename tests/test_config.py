"""Provider URLs and secrets (smsbridge.config)."""

from __future__ import annotations

import pytest

from smsbridge import ConfigurationError, ProviderURL, Secret
from smsbridge.config import ENV_URL, url_from_env


class TestParse:
    """ProviderURL.parse splits a URL into the parts a provider needs."""

    def test_full_url(self) -> None:
        """Scheme, credentials, host, port, path and parameters are parsed."""
        url = ProviderURL.parse("MeliPayamak://demo:p%40ss@api.example:8443/v1?from=5000&x=")
        assert url.scheme == "melipayamak"
        assert url.username == "demo"
        assert url.password == Secret("p@ss")
        assert url.host == "api.example"
        assert url.port == 8443
        assert url.path == "/v1"
        assert url.params == {"from": "5000", "x": ""}

    def test_bare_scheme(self) -> None:
        """``fake://`` has a scheme and nothing else."""
        url = ProviderURL.parse("fake://")
        assert (url.scheme, url.username, url.password, url.host, url.params) == (
            "fake",
            None,
            None,
            None,
            {},
        )

    @pytest.mark.parametrize("raw", ["fake", "", "melipayamak:demo", None, 42])
    def test_not_a_url(self, raw: object) -> None:
        """Anything without ``SCHEME://`` is a configuration error."""
        with pytest.raises(ConfigurationError, match="SCHEME://"):
            ProviderURL.parse(raw)  # type: ignore[arg-type]

    def test_no_scheme(self) -> None:
        """``://host`` has no scheme."""
        with pytest.raises(ConfigurationError, match="no scheme"):
            ProviderURL.parse("://host")

    def test_bad_port(self) -> None:
        """A port that is not a number is a configuration error, not urllib's ValueError."""
        with pytest.raises(ConfigurationError, match="malformed"):
            ProviderURL.parse("fake://host:http/")

    def test_repeated_parameter(self) -> None:
        """A parameter given twice is ambiguous and refused."""
        with pytest.raises(ConfigurationError, match="'from'"):
            ProviderURL.parse("fake://?from=1&from=2")

    def test_configuration_error_is_value_error(self) -> None:
        """Configuration errors are ValueErrors."""
        with pytest.raises(ValueError, match="SCHEME"):
            ProviderURL.parse("nope")


class TestParams:
    """Typed access to URL parameters."""

    def test_int_param(self) -> None:
        """Present values are parsed, absent ones take the default."""
        url = ProviderURL.parse("fake://?n=7")
        assert url.int_param("n", 1) == 7
        assert url.int_param("missing", 3) == 3

    @pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", ""])
    def test_int_param_invalid(self, value: str) -> None:
        """Anything but a positive whole number is refused, naming the parameter."""
        with pytest.raises(ConfigurationError, match="n must be a positive whole number"):
            ProviderURL.parse(f"fake://?n={value}").int_param("n", 1)

    def test_float_param(self) -> None:
        """Present values are parsed, absent ones take the default."""
        url = ProviderURL.parse("fake://?t=2.5")
        assert url.float_param("t", 1.0) == 2.5
        assert url.float_param("missing", 1.0) == 1.0

    @pytest.mark.parametrize(("value", "match"), [("x", "a number"), ("0", "positive")])
    def test_float_param_invalid(self, value: str, match: str) -> None:
        """Non-numbers and non-positive numbers are refused."""
        with pytest.raises(ConfigurationError, match=match):
            ProviderURL.parse(f"fake://?t={value}").float_param("t", 1.0)


class TestCredentials:
    """require_credentials gives a provider its username and password or says what is missing."""

    def test_present(self) -> None:
        """Both parts come back, the password still a Secret."""
        username, password = ProviderURL.parse("x://user:pw@/").require_credentials()
        assert username == "user"
        assert isinstance(password, Secret)
        assert password.reveal() == "pw"

    @pytest.mark.parametrize("raw", ["x://", "x://user@/", "x://:pw@/"])
    def test_missing(self, raw: str) -> None:
        """A missing username or password is a configuration error showing the expected form."""
        with pytest.raises(ConfigurationError, match=r"x://USERNAME:PASSWORD@"):
            ProviderURL.parse(raw).require_credentials()


class TestStr:
    """str() and repr() of a URL show everything but the password."""

    def test_round_trip_without_secret(self) -> None:
        """The password is replaced by a mask; the rest is kept."""
        url = ProviderURL.parse("x://user:pw@host:1/p?a=1")
        assert str(url) == "x://user:********@host:1/p?a=1"
        assert repr(url) == "ProviderURL('x://user:********@host:1/p?a=1')"

    def test_password_only(self) -> None:
        """A password without a username is still masked."""
        assert str(ProviderURL.parse("x://:pw@/")) == "x://:********@/"


class TestSecret:
    """Secret hides its value everywhere but reveal()."""

    def test_hidden(self) -> None:
        """repr, str and f-strings show a mask."""
        secret = Secret("hunter2")
        assert "hunter2" not in repr(secret)
        assert "hunter2" not in str(secret)
        assert "hunter2" not in f"{secret}"
        assert secret.reveal() == "hunter2"

    def test_equality_and_hash(self) -> None:
        """Secrets compare by value, so parsed URLs compare as expected."""
        assert Secret("a") == Secret("a")
        assert Secret("a") != Secret("b")
        assert Secret("a") != "a"
        assert hash(Secret("a")) == hash(Secret("a"))

    def test_truthiness(self) -> None:
        """An empty secret is falsy."""
        assert not Secret("")
        assert Secret("x")


class TestEnvironment:
    """SMSBRIDGE_URL supplies the URL when code does not."""

    def test_name(self) -> None:
        """The variable is SMSBRIDGE_URL."""
        assert ENV_URL == "SMSBRIDGE_URL"

    @pytest.mark.parametrize(
        ("environ", "expected"),
        [
            ({}, None),
            ({"SMSBRIDGE_URL": ""}, None),
            ({"SMSBRIDGE_URL": "   "}, None),
            ({"SMSBRIDGE_URL": " fake:// "}, "fake://"),
        ],
    )
    def test_url_from_env(self, environ: dict[str, str], expected: str | None) -> None:
        """Blank means unset; surrounding whitespace is dropped."""
        assert url_from_env(environ) == expected

    def test_reads_os_environ(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a mapping, the process environment is read."""
        monkeypatch.setenv("SMSBRIDGE_URL", "fake://?batch_size=3")
        assert url_from_env() == "fake://?batch_size=3"
