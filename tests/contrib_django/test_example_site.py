"""The example Django project's own suite passes under Django's runner and pytest-django.

Both run in subprocesses from examples/django_site, with warnings as errors, so the main test
command covers the example as CI would run it by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SITE = Path(__file__).resolve().parents[2] / "examples" / "django_site"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SMSBRIDGE_", "MELIPAYAMAK_", "DJANGO_", "PYTEST_"))
    }
    env["DJANGO_SETTINGS_MODULE"] = "site_config.settings"
    env["PYTHONPATH"] = str(SITE)
    return subprocess.run(
        [sys.executable, "-W", "error", *args],
        cwd=SITE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("runner", ["django", "pytest"])
def test_the_example_suite_passes(runner: str) -> None:
    """Sign-up by OTP, the inbound webhook with and without its secret, the two-factor login
    and the commands: every test of the example passes, and there are tests to pass."""
    if runner == "django":
        done = run("-m", "django", "test", "--noinput", "-v", "2")
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        ran = re.search(r"^Ran (\d+) tests? in", output, re.MULTILINE)
        assert ran is not None, output
        assert int(ran.group(1)) >= 10, output
        assert re.search(r"^OK$", output, re.MULTILINE), output
    else:
        done = run("-m", "pytest", "-v")
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        passed = re.search(r"(\d+) passed", output)
        assert passed is not None, output
        assert int(passed.group(1)) >= 12, output
        assert "failed" not in output, output
    for name in (
        "test_sign_up_with_the_code_texted",
        "test_without_the_secret_nothing_is_stored",
        "test_with_the_secret_it_is_stored_once",
        "test_the_code_is_texted_and_logs_the_user_in",
    ):
        # Django's runner lists each test by name (all passed: "OK" above); pytest marks each.
        shown = f"{name} (" if runner == "django" else f"{name} PASSED"
        assert shown in output, f"{name} did not pass under {runner}"
