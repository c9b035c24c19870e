"""docs/inbox.md keeps up with the code: its Python examples run, in order, in one namespace,
and it documents every endpoint and CLI option the inbox has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smsbridge.cli.inbox import inbox as inbox_command
from smsbridge.inbox import _server

DOC = Path(__file__).resolve().parents[2] / "docs" / "inbox.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


@pytest.mark.sms_real_providers  # the emulator examples talk to real emulators
def test_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each example runs after the ones before it, in a scratch folder."""
    pytest.importorskip("smsbridge_melipayamak")
    pytest.importorskip("smsbridge_kavenegar")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD")  # melipayamak:// URLs in examples
    text = DOC.read_text(encoding="utf-8")
    blocks = [
        (text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in PYTHON_BLOCK.finditer(text)
    ]
    assert len(blocks) >= 5
    namespace: dict[str, object] = {"__name__": "docs_inbox"}
    for line, source in blocks:
        code = compile("\n" * line + source, "docs/inbox.md", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point


def test_every_endpoint_documented() -> None:
    """Each route of the server appears in the API table."""
    text = DOC.read_text(encoding="utf-8")
    for _method, path in _server._EXACT:
        assert f"`{_method} {path}" in text or f"{_method} {path}" in text, path
    for method, pattern, _ in _server._ITEMS:
        shown = pattern.pattern.replace(r"(\d{1,18})", "ID").replace("([^/]{1,64})", "N")
        shown = shown.replace("templates/N", "templates/ID")
        assert f"{method} {shown}" in text, shown


def test_every_option_documented() -> None:
    """Each option of ``smsbridge inbox`` has a row in the options table."""
    text = DOC.read_text(encoding="utf-8")
    for param in inbox_command.params:
        for name in param.opts:
            if name.startswith("--") and name != "--verbose":
                assert f"| `{name}" in text, name
