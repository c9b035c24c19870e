"""Third-party plugins, discovered through the ``smsbridge`` entry-point group.

The proof of the plugin contract: tests/plugin_dist is a separate distribution, installed here
with pip, that adds ``echo://`` on the sans-I/O provider seam. A fresh interpreter then sends
through it with no change to smsbridge's code, and the plugin passes the conformance suite
(smsbridge.testing.conformance) from a test file of its own.
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
import asyncio
import json
from smsbridge import AsyncClient, Client

# concurrency is the engine's URL parameter: it never reaches the plugin's from_url, which
# refuses parameters it does not know.
with Client("echo://?prefix=e&concurrency=1") as client:
    report = client.send("سلام", ["09123456789", "+989351234567", "9121111111"])
    print(json.dumps({"provider": type(client.provider).__module__,
                      "requests": client.provider.requests,
                      "sent": client.provider.sent,
                      "report": report.to_dict()}))

async def main():
    async with AsyncClient("echo://?prefix=a") as client:
        report = await client.send("hi", ["09121111111"])
        return report.to_dict()

print(json.dumps({"async": asyncio.run(main())}))
"""

CONFORMANCE_TEST = """
import pytest

from smsbridge import AsyncClient, Client
from smsbridge.testing.conformance import Harness, ProviderConformance


class TestEchoConformance(ProviderConformance):
    @pytest.fixture
    def harness(self):
        providers = []

        def tracked(client):
            providers.append(client.provider)
            return client

        return Harness(
            name="echo",
            connect=lambda: tracked(Client("echo://")),
            connect_async=lambda: tracked(AsyncClient("echo://")),
            wire=lambda: [sent for provider in providers for sent in provider.sent],
            requests=lambda: sum(len(provider.requests) for provider in providers),
        )
"""

BROKEN_PLUGIN = """
from smsbridge import hookimpl
import a_module_that_is_not_installed  # the plugin's own bug


@hookimpl
def smsbridge_register_providers():
    return []
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
        """echo:// is found by autoloading and sends, batched by the plugin's capability,
        through the Client and the AsyncClient."""
        sync_line, async_line = run(site, SEND_SCRIPT).strip().splitlines()[-2:]
        output = json.loads(sync_line)
        assert output["provider"] == "smsbridge_echo_plugin"
        assert output["requests"] == [
            ["+989123456789", "+989351234567"],
            ["+989121111111"],
        ]
        assert output["sent"] == [
            ["+989123456789", "سلام"],
            ["+989351234567", "سلام"],
            ["+989121111111", "سلام"],
        ]
        asynchronous = json.loads(async_line)["async"]
        assert asynchronous["accepted"] == 1
        assert asynchronous["results"][0]["message_id"] == "a-4"
        report = output["report"]
        assert report["accepted"] == 3
        assert [r["recipient"] for r in report["results"]] == [
            "+989123456789",
            "+989351234567",
            "+989121111111",
        ]
        assert [r["message_id"] for r in report["results"]] == ["e-1", "e-2", "e-3"]
        assert {r["segments"] for r in report["results"]} == {1}

    def test_passes_the_conformance_suite(self, site: Path, tmp_path: Path) -> None:
        """The plugin's own test file needs one small subclass to run the whole suite."""
        (tmp_path / "test_echo_conformance.py").write_text(CONFORMANCE_TEST, encoding="utf-8")
        output = run(
            site,
            "import sys, pytest; sys.exit(pytest.main(["
            f"{str(tmp_path)!r}, '-q', '-rs', '-p', 'no:cacheprovider', '-p', 'no:randomly']))",
        )
        from smsbridge.testing.conformance import ProviderConformance

        checks = [name for name in dir(ProviderConformance) if name.startswith("test_")]
        # echo cannot be told to fail, so the two failure checks skip
        assert f"{len(checks) - 3} passed, 3 skipped" in output, output
        assert "cannot script failures (fail_requests)" in output

    def test_broken_plugin_names_itself(self, site: Path, tmp_path: Path) -> None:
        """A plugin that fails to load is a ConfigurationError naming it and how to skip it;
        skipping it leaves the others working."""
        broken = tmp_path / "broken"
        info = broken / "smsbridge_broken-0.1.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: smsbridge-broken\nVersion: 0.1\n"
        )
        (info / "entry_points.txt").write_text("[smsbridge]\nbroken = smsbridge_broken\n")
        (broken / "smsbridge_broken.py").write_text(BROKEN_PLUGIN, encoding="utf-8")
        pythonpath = os.pathsep.join([str(site), str(broken)])

        output = run(site, SCHEME_SCRIPT, PYTHONPATH=pythonpath)
        assert output.startswith("refused: the smsbridge plugin 'broken' (from smsbridge-broken)")
        assert "ModuleNotFoundError" in output
        assert "SMSBRIDGE_BLOCKED_PLUGINS=broken" in output
        output = run(site, SCHEME_SCRIPT, PYTHONPATH=pythonpath, SMSBRIDGE_BLOCKED_PLUGINS="broken")
        assert output.strip() == "loaded"

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


def test_a_plugin_given_twice_is_registered_once() -> None:
    """A module passed in code that its entry point (or an earlier item) registered already is
    not an error: the client uses it once."""
    import types

    from smsbridge import Client, hookimpl

    calls: list[str] = []
    plugin = types.ModuleType("twice_plugin")

    @hookimpl
    def smsbridge_after_send(send: object, report: object) -> None:
        calls.append("after")

    plugin.smsbridge_after_send = smsbridge_after_send  # type: ignore[attr-defined]
    client = Client("fake://", plugins=[plugin, plugin], autoload_plugins=False)
    client.send("hi", ["09123456789"])
    assert calls == ["after"]
