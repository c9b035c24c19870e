"""The documentation keeps up with the code: every hook documented, every example runs.

Every ```python block of README.md and of each page under docs/ runs, in order, in one
namespace per page, as a script a user runs (outside any test fixture, in a scratch folder,
with ``SMSBRIDGE_URL`` unset and the installed plugins loaded). ```pycon blocks are doctest
sessions, run in the same namespace with ``...`` matching anything (doctest's ELLIPSIS). A
``test_*`` function an example defines is then called as pytest would, with the ``sms_outbox``
fixture's outbox. Pages whose examples need servers of their own are run by the tests listed in
:data:`OWNED`, and a test below proves each of those mentions its page. The shell sessions the
pages show are run by tests/test_docs_console.py.
"""

from __future__ import annotations

import contextlib
import doctest
import inspect
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsbridge import _intercept, hookspecs
from smsbridge.testing import outbox
from smsbridge.testing._capture import capture_into

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = ["README.md", *sorted(path.relative_to(ROOT).as_posix() for path in DOCS.rglob("*.md"))]
BLOCK = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
RUNNABLE = ("python", "pycon")

OWNED = {
    "docs/distributed.md": "tests/distributed/test_distributed_docs.py",
    "docs/django.md": "tests/contrib_django/test_docs.py",
    "docs/emulator.md": "providers/melipayamak/tests/test_meli_docs.py",
    "docs/inbox.md": "tests/inbox/test_inbox_docs.py",
    "docs/providers/kavenegar.md": "providers/kavenegar/tests/test_kave_docs.py",
    "docs/providers/melipayamak.md": "providers/melipayamak/tests/test_meli_docs.py",
    "docs/providers/writing.md": "tests/test_docs_provider_guide.py",
}
"""Pages whose examples another test runs (with the servers or settings they need)."""

RUN_HERE = [page for page in PAGES if page not in OWNED]


def blocks(page: str, languages: tuple[str, ...] = RUNNABLE) -> list[tuple[str, int, str]]:
    """``(language, first line, source)`` of each fenced block of ``page`` in ``languages``."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return [
        (match.group(1), text.count("\n", 0, match.start()) + 1, match.group(2))
        for match in BLOCK.finditer(text)
        if match.group(1) in languages
    ]


def hook_names() -> list[str]:
    """Every hook spec: the functions in hookspecs.py whose names start with smsbridge_."""
    return [
        name
        for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("smsbridge_")
    ]


class TestHookReference:
    """docs/hooks.md has one section per hook, with its signature."""

    def test_there_are_hooks(self) -> None:
        """The spec module is found and declares the documented hooks."""
        assert {
            "smsbridge_register_providers",
            "smsbridge_before_send",
            "smsbridge_after_send",
            "smsbridge_provider_created",
        } <= set(hook_names())

    @pytest.mark.parametrize("hook", hook_names())
    def test_every_hook_has_a_section(self, hook: str) -> None:
        """A ``## smsbridge_<name>`` heading exists, followed by the hook's signature."""
        text = (DOCS / "hooks.md").read_text(encoding="utf-8")
        assert re.search(rf"^## {hook}$", text, re.MULTILINE), f"docs/hooks.md lacks ## {hook}"
        section = text.split(f"## {hook}\n", 1)[1].split("\n## ", 1)[0]
        parameters = inspect.signature(getattr(hookspecs, hook)).parameters
        assert f"{hook}(" in section
        for parameter in parameters:
            assert parameter in section, f"{hook}: parameter {parameter} is undocumented"

    def test_no_stale_sections(self) -> None:
        """Every documented hook still exists."""
        text = (DOCS / "hooks.md").read_text(encoding="utf-8")
        documented = re.findall(r"^## (smsbridge_\w+)$", text, re.MULTILINE)
        assert sorted(documented) == sorted(hook_names())


# -- the examples -------------------------------------------------------------------------------


class NetworkGuard:
    """Refuses (and records) every name lookup that is not the machine's own: a docs example
    must never reach a real provider."""

    LOCAL = ("127.0.0.1", "localhost", "::1")

    def __init__(self) -> None:
        self.reached: list[str] = []
        self._lookup = socket.getaddrinfo

    def __call__(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.LOCAL:
            self.reached.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"docs examples stay offline ({name})")
        return self._lookup(host, *args, **kwargs)


@contextlib.contextmanager
def as_pytest_would() -> Iterator[None]:
    """What the ``sms_outbox`` fixture does around a test: an empty outbox that captures every
    Client built from a URL."""
    outbox.clear()
    interceptor = capture_into(outbox)
    _intercept.install(interceptor)  # type: ignore[arg-type]
    try:
        yield
    finally:
        _intercept.uninstall(interceptor)  # type: ignore[arg-type]
        outbox.clear()


def run_tests_defined(namespace: dict[str, Any], before: set[str]) -> list[str]:
    """Call each ``test_*`` function a block defined, its ``sms_outbox`` given; their names."""
    ran = []
    for name, value in list(namespace.items()):
        if name in before or not name.startswith("test_") or not inspect.isfunction(value):
            continue
        parameters = inspect.signature(value).parameters
        assert set(parameters) <= {"sms_outbox"}, f"{name} asks for fixtures the docs lack"
        with as_pytest_would():
            value(**dict.fromkeys(parameters, outbox))
        ran.append(name)
    return ran


def run_page(page: str, namespace: dict[str, Any]) -> list[str]:
    """Run every example of ``page`` in order; the names of the test functions it defined."""
    ran: list[str] = []
    for language, line, source in blocks(page):
        outbox.clear()
        before = set(namespace)
        if language == "pycon":
            test = doctest.DocTestParser().get_doctest(source, namespace, page, page, line)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            runner.run(test, clear_globs=False)
            assert not runner.failures, f"{page}:{line}: {runner.failures} doctest failure(s)"
        else:
            # Leading newlines make tracebacks point at the line in the page.
            exec(compile("\n" * line + source, page, "exec"), namespace)  # noqa: S102 - our docs
        ran += run_tests_defined(namespace, before)
    return ran


# The examples are scripts as a user runs them, outside any test fixture.
@pytest.mark.sms_real_providers
@pytest.mark.parametrize("page", [page for page in RUN_HERE if blocks(page)])
def test_examples_run(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each example runs, in order, in one namespace per page, in a scratch folder, offline."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD")  # as installed: melipayamak:// works
    guard = NetworkGuard()
    monkeypatch.setattr(socket, "getaddrinfo", guard)
    namespace: dict[str, Any] = {"__name__": "docs_" + re.sub(r"\W", "_", page)}
    run_page(page, namespace)
    assert not guard.reached, f"{page} reached for the network: {guard.reached}"


def test_every_page_is_run() -> None:
    """Each page with examples is run above or by the test listed for it, which names it."""
    assert set(OWNED) <= set(PAGES), set(OWNED) - set(PAGES)
    for page, owner in OWNED.items():
        path = ROOT / owner
        assert path.is_file(), f"{page}: its examples' test {owner} does not exist"
        source = path.read_text(encoding="utf-8")
        assert Path(page).name in source, f"{owner} does not mention {page}"
        assert blocks(page), f"{page} has no examples left: run it here instead"
    assert {"README.md", "docs/guide.md", "docs/errors.md", "docs/bulk.md"} <= {
        page for page in RUN_HERE if blocks(page)
    }


@pytest.mark.parametrize("page", PAGES)
def test_no_python_hides_in_other_fences(page: str) -> None:
    """Python is fenced ```python (or ```pycon for a session), so the test above finds it:
    no ```py, ```python3, ```ipython, ```pytb or bare fence holds it, and a ```python block
    holds no ``>>>`` prompt."""
    for language, line, _ in blocks(page, ("py", "python3", "ipython", "pytb")):
        pytest.fail(f"{page}:{line}: a ```{language} block; fence it ```python or ```pycon")
    for _, line, source in blocks(page, ("python",)):
        assert not re.search(r"^>>> ", source, re.MULTILINE), f"{page}:{line}: use ```pycon"
    for _, line, source in blocks(page, ("",)):
        assert not re.search(r"^(from \w|import \w|>>> |def \w|class \w)", source, re.M), (
            f"{page}:{line}: an unlabelled block holding Python"
        )


class TestFailoverTable:
    """docs/errors.md's "What fails over" table says what ErrorCategory says."""

    def test_table_matches_the_code(self) -> None:
        from smsbridge import ErrorCategory

        text = (DOCS / "errors.md").read_text(encoding="utf-8")
        section = text.split("## What fails over\n", 1)[1].split("\n## ", 1)[0]
        rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.MULTILINE)
        documented = {name: action.strip() for name, action in rows}
        assert set(documented) == {category.value for category in ErrorCategory}
        for category in ErrorCategory:
            action = documented[category.value]
            if category.may_have_been_sent:
                assert action.startswith("held"), category
            elif category.fails_over:
                assert "fails over" in action, category
            else:
                assert action == "stays", category


class TestErrorTree:
    """docs/errors.md's hierarchy is the classes' own."""

    def test_tree_matches_the_classes(self) -> None:
        from smsbridge import exceptions

        text = (DOCS / "errors.md").read_text(encoding="utf-8")
        tree = text.split("```text\nSmsBridgeError", 1)[1].split("```", 1)[0]
        parents: list[str] = ["SmsBridgeError"]
        documented = {"SmsBridgeError"}
        for line in tree.strip("\n").splitlines():
            found = re.match(r"^([│├└─ ]*)(\w+Error)", line)
            assert found, line
            depth = len(found.group(1)) // 4
            name = found.group(2)
            error = getattr(exceptions, name)
            assert getattr(exceptions, parents[depth - 1]) in error.__bases__, (name, parents)
            assert (ValueError in error.__bases__) is ("(ValueError)" in line), name
            del parents[depth:]
            parents.append(name)
            documented.add(name)
        defined = {
            name
            for name in exceptions.__all__
            if isinstance(value := getattr(exceptions, name), type)
            and issubclass(value, exceptions.SmsBridgeError)
        }
        assert documented == defined

    def test_taxonomy_table_names_every_category(self) -> None:
        from smsbridge import exceptions

        text = (DOCS / "errors.md").read_text(encoding="utf-8")
        section = text.split("## The taxonomy\n", 1)[1].split("\n## ", 1)[0]
        for name, category in re.findall(r"^\| `(\w+)` \| `(\w+)` \|", section, re.MULTILINE):
            assert getattr(exceptions, name).category.value == category, name


class TestReadme:
    """README.md's set-up is CI's, and its table lists every page."""

    def test_set_up_commands_are_the_ones_ci_runs(self) -> None:
        commands = [source.strip() for _, _, source in blocks("README.md", ("sh",))][:2]
        ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        assert commands[0].endswith("smsbridge-melipayamak demo"), commands[0]
        assert commands[1].startswith(".venv/bin/python -m coverage run -m pytest"), commands[1]
        for command in commands:
            assert command in ci, f"README's set-up differs from .ci/run: {command}"

    def test_documentation_table_lists_every_page(self) -> None:
        text = (ROOT / "README.md").read_text(encoding="utf-8")
        table = text.split("## Documentation\n", 1)[1].split("\n## ", 1)[0]
        listed = set(re.findall(r"^\| \[(docs/[\w/]+\.md)\]\(\1\) \|", table, re.MULTILINE))
        assert listed == {page for page in PAGES if page.startswith("docs/")}

    def test_links_reach_files(self) -> None:
        for page in PAGES:
            text = (ROOT / page).read_text(encoding="utf-8")
            for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
                if "://" in target or target.startswith("mailto:"):
                    continue
                assert (ROOT / page).parent.joinpath(target).exists(), f"{page}: {target}"
        assert "![smsbridge inbox](docs/inbox.png)" in (ROOT / "README.md").read_text("utf-8")


def test_every_log_event_is_documented() -> None:
    """docs/guide.md's event table names every event the library logs."""
    source = "\n".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "smsbridge").rglob("*.py")
    )
    call = r"(?:log|logger)\.\w+\(\s*(?:[^\"()]+,\s*)?\"(sms_\w+)\""
    logged = set(re.findall(call, source))
    assert {"sms_send_started", "sms_retry", "sms_bulk_finished"} <= logged
    text = (DOCS / "guide.md").read_text(encoding="utf-8")
    table = text.split("| event | level | fields |", 1)[1].split("\n\n", 1)[0]
    assert logged <= set(re.findall(r"`(sms_\w+)`", table)), logged - set(
        re.findall(r"`(sms_\w+)`", table)
    )
