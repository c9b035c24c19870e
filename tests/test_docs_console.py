"""The command lines the documentation shows are the real ones.

Every ```console block of README.md and docs/ is a shell session: ``$ `` lines are commands (a
trailing ``\\`` continues one), the lines after a command are what it prints (stdout and stderr
as a terminal shows them). Each block runs, command by command, with the installed ``smsbridge``
entry points, in a scratch folder, in a clean environment: ``SMSBRIDGE_URL`` unset unless the
session exports it, plugins loaded as installed, ``HOME`` a scratch folder. What a command
prints is compared with what the page shows, after a small normalisation for what legitimately
varies:

- ``...`` in the page matches anything, across lines too (doctest's ELLIPSIS);
- elapsed seconds (``0.15 s``, ``"elapsed_seconds": 0.012``) match any number;
- ``/home/me`` in the page is the home folder (the scratch one);
- the emulators' and the inbox's ports the pages use (8089, 8090) become free ports, in the
  commands and the output alike, when a command of the session names them, so a session never
  collides with a server already running.

A command still running once it has printed what the page shows is a server (an emulator, the
inbox): it keeps running while the session's next commands run, as in another terminal, and
gets Ctrl-C when the session ends. Input files a page mentions without creating them are in
:data:`FILES`. The options every page's ``smsbridge`` command lines use exist, and docs/cli.md
documents every command and option click has.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from smsbridge.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = ["README.md", *sorted(path.relative_to(ROOT).as_posix() for path in DOCS.rglob("*.md"))]
BLOCK = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
BIN = Path(sys.executable).parent
PORTS = ("8089", "8090")
HOME = "/home/me"

FILES: dict[str, dict[str, str]] = {}
"""Files a page's sessions read without creating them: page -> {name: content}."""


def blocks(page: str, languages: tuple[str, ...]) -> list[tuple[int, str]]:
    """``(first line, text)`` of each fenced block of ``page`` in ``languages``."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(2))
        for match in BLOCK.finditer(text)
        if match.group(1) in languages
    ]


def session(text: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` for each ``$`` line of a console block."""
    steps: list[tuple[str, list[str]]] = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + " " + next(lines).strip()
            steps.append((command, []))
        else:
            assert steps, f"output before any command: {line!r}"
            steps[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in steps]


SESSION_PAGES = [page for page in PAGES if blocks(page, ("console",))]


# -- comparing ----------------------------------------------------------------------------------

SPECIAL = re.compile(
    r"(?P<ellipsis>\.\.\.)"
    r"|(?P<seconds>\b\d+\.\d+ s\b)"
    r"|(?<=\"elapsed_seconds\": )(?P<elapsed>\d+(?:\.\d+)?)"
)


def pattern(expected: str) -> re.Pattern[str]:
    """The regular expression a command's output must match in full."""
    parts, at = [], 0
    for found in SPECIAL.finditer(expected):
        parts.append(re.escape(expected[at : found.start()]))
        if found.group("ellipsis"):
            parts.append(".*?")
        elif found.group("seconds"):
            parts.append(r"\d+\.\d+ s")
        else:
            parts.append(r"\d+(?:\.\d+)?")
        at = found.end()
    parts.append(re.escape(expected[at:]))
    return re.compile("".join(parts), re.DOTALL)


def tidy(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.strip("\n").splitlines())


def matches(expected: str, output: str) -> bool:
    return pattern(tidy(expected)).fullmatch(tidy(output)) is not None


# -- running ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Running:
    """A command in a shell, its output (stdout and stderr merged) read as it comes."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], status: int) -> None:
        self.process = subprocess.Popen(
            ["bash", "-c", f"(exit {status}); {command}"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            while chunk := self.process.stdout.read1(65536):
                self._chunks.append(chunk)

    @property
    def output(self) -> str:
        return b"".join(self._chunks).decode("utf-8", "replace")

    def finish(self) -> str:
        self.process.wait()
        self._reader.join(timeout=10)
        return self.output

    def stop(self) -> None:
        """Ctrl-C, as at the end of a terminal session (then kill, if it will not stop)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(timeout=10)


def environment(home: Path) -> dict[str, str]:
    """A user's shell after the README's set-up: the venv's commands, no smsbridge settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SMSBRIDGE_", "PYTEST_", "COV_", "COVERAGE_", "XDG_"))
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        NO_COLOR="1",
        TERM="dumb",
        PYTHONIOENCODING="utf-8",
    )
    return env


def run_session(
    page: str, text: str, folder: Path, name: str = "s"
) -> Iterator[tuple[str, str, str]]:
    """Run a console block in ``folder/work``; yields ``(command, expected, output)`` for each
    step."""
    work, home = folder / "work", folder / name
    home.mkdir()
    if not work.exists():
        work.mkdir()
        for file, content in FILES.get(page, {}).items():
            (work / file).write_text(content, encoding="utf-8")
    steps = session(text)
    ports = {
        port: str(free_port())
        for port in PORTS
        if any(re.search(rf"\b{port}\b", command) for command, _ in steps)
    }

    def local(value: str) -> str:
        for port, free in ports.items():
            value = re.sub(rf"\b{port}\b", free, value)
        return value

    env = environment(home)
    servers: list[Running] = []
    status = 0
    try:
        for shown, shown_output in steps:
            command, expected = local(shown), local(shown_output)
            words = shlex.split(command)
            if words and words[0] == "export":
                for assignment in words[1:]:
                    name, _, value = assignment.partition("=")
                    env[name] = value
                yield command, expected, ""
                continue
            running = Running(command, work, env, status)
            deadline = time.monotonic() + 120
            shown_at = None
            while running.process.poll() is None and time.monotonic() < deadline:
                now = time.monotonic()
                if matches(expected, running.output.replace(str(home), HOME)):
                    shown_at = shown_at or now
                    if now - shown_at > 2:  # what the page shows, and still running: a server
                        break
                else:
                    shown_at = None
                time.sleep(0.05)
            if running.process.poll() is None:
                servers.append(running)
                output = running.output
            else:
                output = running.finish()
                status = running.process.returncode
            yield command, expected, output.replace(str(home), HOME)
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.mark.parametrize("page", SESSION_PAGES)
def test_sessions_print_what_the_page_shows(page: str, tmp_path: Path) -> None:
    """Each command of each session prints what the page shows after it. A page's sessions run
    in order in one scratch folder (the files one makes are there for the next), each in a
    fresh environment."""
    for index, (line, text) in enumerate(blocks(page, ("console",))):
        assert session(text), f"{page}:{line}: a console block without a '$ ' command: use ```sh"
        for command, expected, output in run_session(page, text, tmp_path, f"s{index}"):
            assert matches(expected, output), (
                f"{page}:{line}: $ {command}\n--- the page shows:\n{expected}\n"
                f"--- it prints:\n{output}"
            )


# -- the normalisation itself -------------------------------------------------------------------


class TestNormalisation:
    """The comparison is strict outside the documented allowances."""

    def test_ellipsis_and_elapsed(self) -> None:
        assert matches("1 recipients; 0.15 s", "1 recipients; 12.03 s")
        assert matches('{"elapsed_seconds": 0.012, "x": 1}', '{"elapsed_seconds": 3, "x": 1}')
        assert matches("a\n...\nz", "a\nb\nc\nz")
        assert matches("trailing  \n", "trailing")

    def test_anything_else_differs(self) -> None:
        assert not matches("1 recipients; 0.15 s", "2 recipients; 0.15 s")
        assert not matches("fake-00000001", "fake-00000002")
        assert not matches("a\nb", "a\nb\nc")
        assert not matches('{"elapsed_seconds": 0.012, "x": 1}', '{"elapsed_seconds": 3, "x": 2}')

    def test_a_session_runs_and_a_wrong_page_is_caught(self, tmp_path: Path) -> None:
        text = "$ export SMSBRIDGE_URL=fake://\n$ smsbridge segments hi\nencoding: UCS-2\n"
        (*_, (_, expected, output)) = run_session("README.md", text, tmp_path)
        assert "encoding: GSM-7" in output
        assert not matches(expected, output)

    def test_exit_status_carries_to_echo(self, tmp_path: Path) -> None:
        text = "$ smsbridge send --to 09123456789 --text hi\n...\n$ echo $?\n3\n"
        steps = list(run_session("README.md", text, tmp_path))
        assert [matches(expected, output) for _, expected, output in steps] == [True, True]


# -- the command lines ---------------------------------------------------------------------------


def command_lines() -> Iterator[tuple[str, int, list[str]]]:
    """Each ``smsbridge ...`` command a page shows in a ```sh or ```console block."""
    for page in PAGES:
        for line, text in blocks(page, ("sh", "console", "bash", "shell")):
            joined = re.sub(r"\\\n\s*", " ", text)
            for offset, raw in enumerate(joined.splitlines()):
                if text.startswith("$ ") and not raw.startswith("$ "):
                    continue  # a session's output
                command = raw.removeprefix("$ ")
                for part in re.split(r"\s(?:\||&&|;)\s", command):
                    words = shlex.split(part, comments=True)
                    while words and "=" in words[0] and not words[0].startswith("-"):
                        words.pop(0)  # NAME=value before the command
                    if words and words[0] in ("smsbridge", ".venv/bin/smsbridge"):
                        yield page, line + 1 + offset, words[1:]


def parse(args: list[str]) -> click.Command:
    """Parse ``smsbridge ARGS`` as click would, without running it; the command reached."""
    command: click.Command = cli
    context = cli.make_context("smsbridge", list(args))
    rest = [*context._protected_args, *context.args]
    while isinstance(command, click.Group) and rest:
        name, found, rest = command.resolve_command(context, rest)
        assert found is not None, name
        command = found
        context = command.make_context(name or "", rest, parent=context)
        rest = [*getattr(context, "_protected_args", []), *context.args]
    return command


@pytest.mark.parametrize(("page", "line", "args"), list(command_lines()))
def test_command_lines_parse(
    page: str, line: int, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ``smsbridge`` command a page shows names a command and options that exist, with
    values of the right kind."""
    monkeypatch.delenv("SMSBRIDGE_URL", raising=False)
    try:
        parse(args)
    except click.ClickException as error:
        pytest.fail(f"{page}:{line}: smsbridge {shlex.join(args)}: {error.format_message()}")


def commands(
    group: click.Group = cli, path: str = "smsbridge"
) -> Iterator[tuple[str, click.Command]]:
    """Every command click has, by its path (``smsbridge campaign start``)."""
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")
        else:
            yield f"{path} {name}", command


def cli_sections() -> dict[str, str]:
    """docs/cli.md's ``## `smsbridge ...``` sections, by command path."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    found = {}
    for heading, body in re.findall(
        r"^## `(smsbridge [^`]+)`\n(.*?)(?=^## |\Z)", text, re.M | re.S
    ):
        path = " ".join(word for word in heading.split() if not word.isupper() and "[" not in word)
        found[path] = body
    return found


class TestCliReference:
    """docs/cli.md documents every command and option click has, and nothing else."""

    def test_every_command_has_a_section(self) -> None:
        assert sorted(cli_sections()) == sorted(path for path, _ in commands())

    @pytest.mark.parametrize(("path", "command"), list(commands()))
    def test_options_are_click_s(self, path: str, command: click.Command) -> None:
        section = cli_sections()[path]
        heading_args = {
            param.human_readable_name
            for param in command.params
            if isinstance(param, click.Argument)
        }
        text = (DOCS / "cli.md").read_text(encoding="utf-8")
        assert re.search(rf"^## `{path}(?: \[?(\w+)\]?)?`$", text, re.M)
        for name in heading_args:
            assert re.search(rf"^## `{path} \[?{name}\]?`$", text, re.M), (path, name)
        first_cells = re.findall(r"^\| ([^|]*(?:\\\|[^|]*)*) \|", section, re.M)
        documented = {
            option for cell in first_cells for option in re.findall(r"`(--?[a-z][\w-]*)", cell)
        }
        options = {
            name
            for param in command.params
            if isinstance(param, click.Option)
            for name in (*param.opts, *param.secondary_opts)
        }
        assert documented == options, (
            f"{path}: undocumented {sorted(options - documented)}, "
            f"stale {sorted(documented - options)}"
        )

    def test_global_options(self) -> None:
        text = (DOCS / "cli.md").read_text(encoding="utf-8")
        table = text.split("| Global option |", 1)[1].split("\n\n", 1)[0]
        documented = set(re.findall(r"`(--?[a-z][\w-]*)`", table))
        options = {
            name
            for param in cli.params
            if isinstance(param, click.Option)
            for name in (*param.opts, *param.secondary_opts)
        }
        assert documented == options | {"-h", "--help", "-vv"}
