"""docs/django.md: every Python example runs, in order, with the page's own settings.

The first example defines ``SMSBRIDGE``; the others run under ``override_settings`` with it.
Django test cases an example defines are run, and so are its ``test_*`` functions (given the
``sms_outbox`` fixture), each of which must pass.
"""

from __future__ import annotations

import inspect
import re
import unittest
from pathlib import Path
from typing import Any

from django.test import SimpleTestCase, override_settings

from smsbridge.contrib.django import outbox

PAGE = Path(__file__).resolve().parents[2] / "docs" / "django.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def blocks() -> list[tuple[int, str]]:
    text = PAGE.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in PYTHON_BLOCK.finditer(text)
    ]


def run_tests_defined(namespace: dict[str, Any], before: set[str]) -> int:
    """Run the test cases and test functions a block added; how many ran."""
    ran = 0
    for name, value in list(namespace.items()):
        if name in before:
            continue
        if isinstance(value, type) and issubclass(value, SimpleTestCase):
            result = unittest.TestResult()
            unittest.defaultTestLoader.loadTestsFromTestCase(value).run(result)
            assert result.wasSuccessful(), result.errors + result.failures
            ran += result.testsRun
        elif name.startswith("test_") and inspect.isfunction(value):
            outbox.clear()
            value(**dict.fromkeys(inspect.signature(value).parameters, outbox))
            ran += 1
    return ran


def test_the_examples_run() -> None:
    """Each example runs and its assertions hold."""
    found = blocks()
    assert len(found) >= 8
    namespace: dict[str, Any] = {"__name__": "docs_django"}
    ran = 0
    for index, (line, source) in enumerate(found):
        outbox.clear()
        code = compile("\n" * line + source, "docs/django.md", "exec")
        before = set(namespace)
        if index == 0:
            exec(code, namespace)  # noqa: S102 - running our own documentation is the point
            assert "SMSBRIDGE" in namespace
            continue
        with override_settings(SMSBRIDGE=namespace["SMSBRIDGE"]):
            exec(code, namespace)  # noqa: S102
            ran += run_tests_defined(namespace, before)
    assert ran == 3  # the two test-case methods and the pytest-style function


def test_every_check_is_documented() -> None:
    """The page's table of checks lists every id the code can report."""
    source = "".join(
        path.read_text(encoding="utf-8")
        for path in (PAGE.parents[1] / "smsbridge" / "contrib" / "django").glob("*.py")
    )
    in_code = set(re.findall(r'(?:error|warning)\(\s*"(\d{3})"', source))
    in_code = {f"E{n}" for n in in_code} | {f"W{n}" for n in in_code}
    emitted = set(re.findall(r"smsbridge\.([EW]\d{3})", source))
    documented = set(re.findall(r"`smsbridge\.([EW]\d{3})`", PAGE.read_text(encoding="utf-8")))
    assert emitted, "no check ids found in the code"
    assert emitted <= documented
    assert documented - emitted <= in_code
