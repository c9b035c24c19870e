"""The error taxonomy (smsbridge.exceptions)."""

from __future__ import annotations

import inspect

import pytest

from smsbridge import exceptions
from smsbridge.exceptions import (
    ConfigurationError,
    ErrorCategory,
    InvalidInputError,
    InvalidRecipientError,
    ProviderError,
    ProviderUnavailableError,
    RecipientProblem,
    SmsBridgeError,
    error_for_category,
)

ERROR_CLASSES = [
    obj
    for _, obj in inspect.getmembers(exceptions, inspect.isclass)
    if issubclass(obj, SmsBridgeError)
]
# ProviderError declares the unknown-error category only as a fallback for its subclasses.
CONCRETE = [cls for cls in ERROR_CLASSES if "category" in vars(cls) and cls is not ProviderError]


class TestHierarchy:
    """The classes form the tree drawn in the module docstring."""

    def test_docstring_names_every_class(self) -> None:
        """The ASCII tree mentions every error class."""
        doc = exceptions.__doc__ or ""
        for cls in ERROR_CLASSES:
            assert cls.__name__ in doc, cls.__name__

    def test_input_and_configuration_are_value_errors(self) -> None:
        """Bad arguments are ValueErrors; provider failures are not."""
        assert issubclass(InvalidInputError, ValueError)
        assert issubclass(ConfigurationError, ValueError)
        assert not issubclass(ProviderError, ValueError)

    @pytest.mark.parametrize("cls", CONCRETE, ids=lambda cls: cls.__name__)
    def test_category_round_trip(self, cls: type[SmsBridgeError]) -> None:
        """Each category maps back to the class that declares it."""
        assert error_for_category(cls.category) is cls

    def test_every_category_has_a_class(self) -> None:
        """No category is left without an exception to raise."""
        for category in ErrorCategory:
            assert error_for_category(category).category is category

    def test_category_values_are_snake_case(self) -> None:
        """Category values are the lower-case names, as the JSON output uses them."""
        for category in ErrorCategory:
            assert category.value == category.name.lower()

    def test_only_unavailable_is_retryable(self) -> None:
        """Only "nothing was sent" is safe to retry; an unknown outcome never is."""
        retryable = {cls for cls in ERROR_CLASSES if cls.retryable}
        assert retryable == {ProviderUnavailableError}


class TestContext:
    """Errors carry the provider's name, raw code and raw text."""

    def test_fields(self) -> None:
        """Everything passed is kept; the message is the str()."""
        error = ProviderUnavailableError(
            "down", provider="p", provider_code=6, provider_text="maintenance"
        )
        assert str(error) == "down"
        assert (error.message, error.provider, error.provider_code, error.provider_text) == (
            "down",
            "p",
            6,
            "maintenance",
        )
        assert error.retryable
        assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE

    def test_defaults(self) -> None:
        """Without a provider the context is None."""
        error = ConfigurationError("bad")
        assert (error.provider, error.provider_code, error.provider_text) == (None, None, None)


class TestInvalidRecipientError:
    """InvalidRecipientError names every bad recipient and its position."""

    def test_message_lists_problems(self) -> None:
        """Each problem appears as ``#index raw: reason``."""
        error = InvalidRecipientError(
            [RecipientProblem(0, "abc", "contains letters"), RecipientProblem(3, "", "empty")]
        )
        assert str(error) == "2 invalid recipients: #0 'abc': contains letters; #3 '': empty"
        assert error.category is ErrorCategory.INVALID_RECIPIENT

    def test_singular(self) -> None:
        """One problem reads "1 invalid recipient"."""
        error = InvalidRecipientError([RecipientProblem(1, "x", "contains letters")])
        assert str(error).startswith("1 invalid recipient:")

    def test_long_lists_are_shortened_but_kept(self) -> None:
        """The message shows 20; ``problems`` keeps all of them."""
        problems = [RecipientProblem(i, f"bad{i}", "contains letters") for i in range(25)]
        error = InvalidRecipientError(problems)
        assert len(error.problems) == 25
        assert "(and 5 more)" in str(error)
        assert "#19 'bad19'" in str(error)
        assert "#20 'bad20'" not in str(error)

    def test_plain_message(self) -> None:
        """A plain message (no recipients at all) has no problems list."""
        error = InvalidRecipientError("no recipients were given")
        assert error.problems == []
        assert str(error) == "no recipients were given"
