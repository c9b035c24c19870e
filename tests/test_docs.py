"""The documentation keeps up with the code: every hook documented, every example runs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from smsbridge import hookspecs
from smsbridge.testing import outbox

DOCS = Path(__file__).resolve().parent.parent / "docs"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def hook_names() -> list[str]:
    """Every hook spec: the functions in hookspecs.py whose names start with smsbridge_."""
    return [
        name
        for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("smsbridge_")
    ]


def python_blocks(name: str) -> list[tuple[int, str]]:
    """The ```python blocks of a doc page, each with the line it starts on."""
    text = (DOCS / name).read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in PYTHON_BLOCK.finditer(text)
    ]


class TestHookReference:
    """docs/hooks.md has one section per hook, with its signature."""

    def test_there_are_hooks(self) -> None:
        """The spec module is found and declares the documented hooks."""
        assert {
            "smsbridge_register_providers",
            "smsbridge_before_send",
            "smsbridge_after_send",
            "smsbridge_provider_created",
        } <= set(hook_names())

    @pytest.mark.parametrize("hook", hook_names())
    def test_every_hook_has_a_section(self, hook: str) -> None:
        """A ``## smsbridge_<name>`` heading exists, followed by the hook's signature."""
        text = (DOCS / "hooks.md").read_text(encoding="utf-8")
        assert re.search(rf"^## {hook}$", text, re.MULTILINE), f"docs/hooks.md lacks ## {hook}"
        section = text.split(f"## {hook}\n", 1)[1].split("\n## ", 1)[0]
        parameters = inspect.signature(getattr(hookspecs, hook)).parameters
        assert f"{hook}(" in section
        for parameter in parameters:
            assert parameter in section, f"{hook}: parameter {parameter} is undocumented"

    def test_no_stale_sections(self) -> None:
        """Every documented hook still exists."""
        text = (DOCS / "hooks.md").read_text(encoding="utf-8")
        documented = re.findall(r"^## (smsbridge_\w+)$", text, re.MULTILINE)
        assert sorted(documented) == sorted(hook_names())


# The examples are scripts as a user runs them, outside any test fixture.
@pytest.mark.sms_real_providers
@pytest.mark.parametrize("page", ["hooks.md", "testing.md", "guide.md", "failover.md"])
def test_examples_run(page: str) -> None:
    """Each python example runs, in order, in one namespace per page, with an empty outbox."""
    blocks = python_blocks(page)
    assert blocks, f"docs/{page} has no python examples"
    namespace: dict[str, object] = {"__name__": f"docs_{page.replace('.', '_')}"}
    for line, source in blocks:
        outbox.clear()
        # Leading newlines make tracebacks point at the line in the page.
        code = compile("\n" * line + source, f"docs/{page}", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point


class TestFailoverTable:
    """docs/errors.md's "What fails over" table says what ErrorCategory says."""

    def test_table_matches_the_code(self) -> None:
        from smsbridge import ErrorCategory

        text = (DOCS / "errors.md").read_text(encoding="utf-8")
        section = text.split("## What fails over\n", 1)[1].split("\n## ", 1)[0]
        rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.MULTILINE)
        documented = {name: action.strip() for name, action in rows}
        assert set(documented) == {category.value for category in ErrorCategory}
        for category in ErrorCategory:
            action = documented[category.value]
            if category.may_have_been_sent:
                assert action.startswith("held"), category
            elif category.fails_over:
                assert "fails over" in action, category
            else:
                assert action == "stays", category
