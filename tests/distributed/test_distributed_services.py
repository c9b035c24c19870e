"""The test services' rule for missing binaries: a developer gets a skip, CI a failure."""

from __future__ import annotations

import pytest
from distributed_services import missing


class TestMissingBinaries:
    """``missing()`` decides between a skip and a failure by the ``CI`` variable."""

    def test_a_developer_gets_a_clear_skip(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("CI", raising=False)
        with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
            missing("redis-server is not installed")

    def test_ci_fails(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CI", "true")
        with pytest.raises(pytest.fail.Exception, match="CI needs redis-server"):
            missing("redis-server is not installed")
