"""docs/providers/writing.md builds a complete provider distribution, and it works.

Each block of the page that starts with a ``# path`` comment is a file of the distribution.
They are written out into a scratch folder, and then:

- the ``pyproject.toml`` is complete: a build system, the project's metadata, the dependency on
  smsbridge, the entry point naming the plugin module the page writes;
- the entry point works: with the distribution's metadata on the path (as pip would install
  it), ``smsbridge providers`` lists ``acme`` with the capabilities the page declares;
- the plugin's own tests (an emulator, smsbridge's conformance suite, the provider's own
  contract) pass, run by pytest as the plugin's author runs them, with nothing skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "providers" / "writing.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
BIN = Path(sys.executable).parent


def files() -> dict[str, str]:
    """The distribution the page writes: path -> content."""
    found = {}
    for language, source in BLOCK.findall(PAGE.read_text(encoding="utf-8")):
        first = source.split("\n", 1)[0]
        if language in ("python", "toml") and re.fullmatch(r"# [\w./-]+\.(py|toml)", first):
            found[first[2:]] = source
    return found


@pytest.fixture(scope="module")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("smsbridge-acme")
    for name, content in files().items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def environment(*paths: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SMSBRIDGE_")}
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in paths)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_page_writes_a_whole_distribution() -> None:
    """The layout the page shows is the files it writes."""
    assert sorted(files()) == [
        "pyproject.toml",
        "smsbridge_acme/__init__.py",
        "smsbridge_acme/_plugin.py",
        "smsbridge_acme/_provider.py",
        "tests/test_acme.py",
    ]


def test_pyproject_is_complete(distribution: Path) -> None:
    """Build system, metadata, the smsbridge dependency and the entry point."""
    config = tomllib.loads((distribution / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["build-system"]["requires"]
    assert config["build-system"]["build-backend"]
    project = config["project"]
    assert {"name", "version", "description", "requires-python"} <= set(project)
    assert any(re.match(r"smsbridge\b(?!-)", dep) for dep in project["dependencies"])
    (module,) = project["entry-points"]["smsbridge"].values()
    assert (distribution / (module.replace(".", "/") + ".py")).is_file(), module
    packages = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert all((distribution / package / "__init__.py").is_file() for package in packages)


def test_the_entry_point_registers_the_provider(distribution: Path, tmp_path: Path) -> None:
    """Installed (its metadata on the path, as pip leaves it), the plugin is found by every
    smsbridge, the CLI included."""
    config = tomllib.loads((distribution / "pyproject.toml").read_text(encoding="utf-8"))
    project = config["project"]
    info = tmp_path / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    points = project["entry-points"]["smsbridge"]
    (info / "entry_points.txt").write_text(
        "[smsbridge]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()), encoding="utf-8"
    )
    shown = subprocess.run(
        [BIN / "smsbridge", "providers"],
        env=environment(tmp_path, distribution),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (row,) = [line for line in shown.splitlines() if line.startswith("acme ")]
    assert row.split() == [
        "acme",
        "smsbridge_acme._provider.AcmeProvider",
        "50",  # batch
        "no",  # flash
        "no",  # udh
        "no",  # delivery status
        "yes",  # unicode
        "no",  # templates
        "yes",  # balance
    ]


def test_the_plugin_s_own_tests_pass(distribution: Path) -> None:
    """The conformance suite and the provider's own tests, run by pytest in the plugin's
    folder, all pass and none is skipped."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "tests"],
        cwd=distribution,
        env=environment(distribution),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed, summary
    assert int(passed.group(1)) >= 15, summary
    assert "skipped" not in summary, summary
    assert "warning" not in summary, summary


def test_the_code_is_lint_clean(distribution: Path) -> None:
    """The page's code passes ruff with smsbridge's rule set, as a plugin project would run it
    (its own package first-party), and is formatted."""
    rules = "E,F,W,I,B,UP,SIM,RUF,PT,C4,PIE,RET,PL"
    common = ["--isolated", "--line-length", "100", "--target-version", "py311"]
    for command in (
        ["check", *common, "--select", rules, "--ignore", "PLR2004,PLC0415", "."],
        ["format", *common, "--check", "."],
    ):
        done = subprocess.run(
            [BIN / "ruff", *command], cwd=distribution, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
