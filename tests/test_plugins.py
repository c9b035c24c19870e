"""Third-party plugins, discovered through the ``smsbridge`` entry-point group.

The proof of the plugin contract: tests/plugin_dist is a separate distribution, installed here
with pip, that adds ``echo://``. A fresh interpreter then sends through it with no change to
smsbridge's code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN_DIST = Path(__file__).parent / "plugin_dist"

SEND_SCRIPT = """
import json
from smsbridge import Client

with Client("echo://?prefix=e") as client:
    report = client.send("سلام", ["09123456789", "+989351234567", "9121111111"])
    print(json.dumps({"provider": type(client.provider).__module__,
                      "requests": client.provider.requests,
                      "report": report.to_dict()}))
"""

SCHEME_SCRIPT = """
from smsbridge import Client, ConfigurationError

try:
    Client("echo://")
except ConfigurationError as error:
    print("refused:", error)
else:
    print("loaded")
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the installed plugin distribution (pip, offline, no build deps)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(PLUGIN_DIST),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


def run(site: Path, script: str, **env: str) -> str:
    """Run ``script`` in a fresh interpreter that sees the installed plugin; return stdout."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SMSBRIDGE_")  # the test session disables autoloading
    }
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), environ.get("PYTHONPATH")]))
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class TestEntryPointPlugin:
    """A separately installed distribution adds a provider scheme."""

    def test_installed_as_a_distribution(self, site: Path) -> None:
        """pip installed it with its entry point in the ``smsbridge`` group."""
        (info,) = site.glob("smsbridge_echo_plugin-*.dist-info")
        entry_points = (info / "entry_points.txt").read_text()
        assert "[smsbridge]" in entry_points
        assert "echo = smsbridge_echo_plugin" in entry_points

    def test_send_through_plugin(self, site: Path) -> None:
        """echo:// is found by autoloading and sends, batched by the plugin's capability."""
        output = json.loads(run(site, SEND_SCRIPT).strip().splitlines()[-1])
        assert output["provider"] == "smsbridge_echo_plugin"
        assert output["requests"] == [
            ["+989123456789", "+989351234567"],
            ["+989121111111"],
        ]
        report = output["report"]
        assert report["accepted"] == 3
        assert [r["recipient"] for r in report["results"]] == [
            "+989123456789",
            "+989351234567",
            "+989121111111",
        ]
        assert [r["message_id"] for r in report["results"]] == ["e-1", "e-2", "e-3"]
        assert {r["segments"] for r in report["results"]} == {1}

    def test_autoload_disabled(self, site: Path) -> None:
        """With SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD=1 the scheme is unknown."""
        output = run(site, SCHEME_SCRIPT, SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD="1")
        assert output.startswith("refused:")
        assert "'echo'" in output
        assert "echo," not in output.partition("known:")[2]

    def test_blocked(self, site: Path) -> None:
        """A plugin named in SMSBRIDGE_BLOCKED_PLUGINS is not loaded."""
        output = run(site, SCHEME_SCRIPT, SMSBRIDGE_BLOCKED_PLUGINS="echo")
        assert output.startswith("refused:")

    def test_not_installed(self) -> None:
        """Without the distribution on the path the scheme is unknown (the control case)."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
        done = subprocess.run(
            [sys.executable, "-c", SCHEME_SCRIPT],
            env=environ,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert done.stdout.startswith("refused:")

    def test_loaded_by_default(self, site: Path) -> None:
        """Autoloading is on unless switched off."""
        assert run(site, SCHEME_SCRIPT).strip() == "loaded"
