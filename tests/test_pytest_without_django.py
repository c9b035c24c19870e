"""smsbridge's pytest plugins load in a project without Django (most projects)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# sys.modules["django"] = None makes every `import django` fail, as in a venv without it (and
# pytest-django, a dev dependency here, is left out: such a venv would not have it).
_RUN = (
    "import sys; sys.modules['django'] = None; import pytest; "
    "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:django', sys.argv[1]]))"
)


def test_pytest_starts_and_the_fixture_works_without_django(tmp_path: Path) -> None:
    test = tmp_path / "test_app.py"
    test.write_text(
        "from smsbridge import Client\n"
        "def test_send(sms_outbox):\n"
        "    Client('fake://').send('hi', ['09123456789'])\n"
        "    sms_outbox.assert_sent_to('09123456789')\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(test)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
