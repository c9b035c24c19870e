"""docs/providers/kavenegar.md: its examples run, and its limits are the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from smsbridge_kavenegar import KavenegarProvider
from smsbridge_kavenegar._codes import LOCALID_WINDOW, MAX_IDS, MAX_RECEPTORS, MAX_TEXT, MAX_TOKEN

DOC = Path(__file__).resolve().parents[3] / "docs" / "providers" / "kavenegar.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = [
    (TEXT.count("\n", 0, match.start()) + 1, match.group(1))
    for match in re.finditer(r"^```python\n(.*?)^```", TEXT, re.DOTALL | re.MULTILINE)
]


@pytest.mark.sms_real_providers
def test_examples_run() -> None:
    """Every python example runs, in order, in one namespace; the ones that would reach
    Kavenegar itself (a client on the real API) only build their requests."""
    assert len(BLOCKS) == 3
    namespace: dict[str, object] = {"__name__": "docs_kavenegar"}
    for line, source in BLOCKS:
        code = compile("\n" * line + source, str(DOC), "exec")
        if "client.send(" in source and "Emulator(" not in source:
            continue  # sends to api.kavenegar.com: compiled, not run
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point
    client = namespace["client"]
    assert isinstance(client.provider, KavenegarProvider)  # type: ignore[attr-defined]
    client.close()  # type: ignore[attr-defined]


def test_limits_and_windows_are_the_codes() -> None:
    """The numbers the page states are the ones the provider uses."""
    assert MAX_RECEPTORS == 200
    assert "at most **200 receptors** a call" in TEXT
    assert MAX_TEXT == 900
    assert "**900 characters** a text" in TEXT
    assert MAX_IDS == 500
    assert "chunks of 500 ids" in TEXT
    assert "calls of 500 `localid`s" in TEXT
    assert LOCALID_WINDOW == 12 * 3600
    assert "| **12 hours** |" in TEXT
    assert "| **48 hours** |" in TEXT
    assert MAX_TOKEN == 100
    assert KavenegarProvider.capabilities.settle_window == LOCALID_WINDOW
