"""docs/distributed.md's examples run, against the test's own Postgres and Redis servers."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from distributed_services import RedisServer
from distributed_support import redis_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "distributed.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXPECTED = re.compile(r"print\(.*\)\s+# (.+?)(?::.*)?$")


def test_the_examples_run_and_print_what_they_say(database: str, redis_server: RedisServer) -> None:
    """Every python block, in order, in one namespace; each ``print(...)  # x`` prints x."""
    import redis

    broker, limits = redis_server.url(redis_db()), redis_server.url(redis_db())
    for url in (broker, limits):
        redis.Redis.from_url(url).flushdb()
    text = DOC.read_text(encoding="utf-8")
    text = text.replace("postgresql://sms@127.0.0.1:5432/sms", database)
    text = text.replace("redis://127.0.0.1:6379/0", broker).replace(
        "redis://127.0.0.1:6379/1", limits
    )
    blocks = PYTHON_BLOCK.findall(text)
    assert len(blocks) == 3
    namespace: dict[str, object] = {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    expected = [
        part.strip()
        for block in blocks
        for line in block.splitlines()
        if (found := EXPECTED.search(line))
        for part in found.group(1).split(", then ")
    ]
    assert output.getvalue().split("\n")[:-1] == expected
    if expected != ["2 1 False", "1", "2 0", "0 2"]:  # pragma: no cover - the doc changed
        pytest.fail(f"update this test for the doc's examples: {expected}")
