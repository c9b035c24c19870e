"""The provider's pages keep up with the code: every python example in
docs/providers/melipayamak.md and docs/emulator.md runs, and the emulator's page names every
admin endpoint and REST method it serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from smsbridge_melipayamak.emulator import Emulator
from smsbridge_melipayamak.emulator._rest import METHODS

DOCS = Path(__file__).resolve().parents[3] / "docs"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


# The examples are scripts as a user runs them, outside any test fixture.
@pytest.mark.sms_real_providers
@pytest.mark.parametrize("page", ["providers/melipayamak.md", "emulator.md"])
def test_examples_run(page: str) -> None:
    """Each python example runs, in order, in one namespace per page."""
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in PYTHON_BLOCK.finditer(text)]
    assert blocks, f"docs/{page} has no python examples"
    namespace: dict[str, object] = {"__name__": f"docs_{page.replace('/', '_')}"}
    for line, source in blocks:
        # Leading newlines make tracebacks point at the line in the page.
        code = compile("\n" * line + source, f"docs/{page}", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point


def test_emulator_page_names_every_endpoint() -> None:
    """Every admin endpoint and REST method of the emulator appears in docs/emulator.md."""
    text = (DOCS / "emulator.md").read_text(encoding="utf-8")
    emulator = Emulator()
    for method, name in emulator.server.admin.routes:
        if name:
            assert f"`{method} /_emulator/{name}`" in text, (method, name)
    for spelling, _ in METHODS.values():
        assert f"`{spelling}`" in text, spelling
