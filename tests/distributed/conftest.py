"""Fixtures for the distributed tests: one Postgres cluster and one Redis server for the
session (real servers on 127.0.0.1, see distributed_services.py), a fresh database per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from distributed_services import PostgresServer, RedisServer

_databases = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "distributed: needs real Redis and Postgres servers (and Celery workers); skipped "
        "without them except in CI",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/distributed" in str(item.path):
            item.add_marker(pytest.mark.distributed)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway Postgres cluster for the session."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway Redis server for the session."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    """The URL of a new, empty database."""
    return postgres.create_database(f"t{next(_databases)}")


@pytest.fixture
def journal_url(database: str) -> str:
    """A journal URL naming campaign ``spring`` in a new database."""
    return f"{database}?campaign=spring"
