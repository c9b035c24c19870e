"""The part of an emulator's public object that is the same for every service."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from smsbridge.testing.server._server import EmulatorServer

__all__ = ["ServedEmulator"]


class ServedEmulator:
    """An emulator served by the kit: its :class:`EmulatorServer` is :attr:`server`, set by
    the subclass's ``__init__``, which adds the service's own URLs (``url``, ``provider_url``).
    Starting, stopping and the address are the server's."""

    server: EmulatorServer

    @property
    def host(self) -> str:
        """The address it listens on."""
        return self.server.host

    @property
    def port(self) -> int:
        """The port; the real one once started with port 0."""
        return self.server.port

    @property
    def url(self) -> str:
        """The endpoint a provider is pointed at: by default the base URL, ``http://host:port``
        (valid once started); an emulator whose service lives under a path overrides it."""
        return self.server.base_url

    @property
    def admin_url(self) -> str:
        """Base URL of the JSON admin endpoints."""
        return self.server.admin_url

    def start(self) -> Self:
        """Bind the socket and serve in a background thread; returns self.

        :raises smsbridge.testing.server.PortInUseError: when the port is taken.
        """
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket and any idle connections."""
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
