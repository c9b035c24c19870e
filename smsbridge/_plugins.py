"""The plugin host: a pluggy manager built on demand (never at import) and typed hook calls.

Built-in plugins are registered explicitly; third-party ones come from the entry-point group
``smsbridge`` unless ``SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD`` is set. Plugins named in
``SMSBRIDGE_BLOCKED_PLUGINS`` (comma-separated entry-point names) are never loaded. Core code
calls the typed methods of :class:`PluginHost` (``host.before_send(...)``), never ``pm.hook``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, cast

import pluggy

from smsbridge import hookspecs
from smsbridge.exceptions import ConfigurationError
from smsbridge.provider import BaseProvider

if TYPE_CHECKING:
    from smsbridge._engine._outgoing import OutgoingSend
    from smsbridge._models import (
        AttemptReport,
        CircuitState,
        Failover,
        ProviderHealth,
        SendReport,
    )

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_BLOCKED_PLUGINS",
    "ENV_DISABLE_AUTOLOAD",
    "PluginHost",
]

ENTRY_POINT_GROUP: Final = "smsbridge"
ENV_DISABLE_AUTOLOAD: Final = "SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCKED_PLUGINS: Final = "SMSBRIDGE_BLOCKED_PLUGINS"


def _autoload_disabled(environ: Mapping[str, str]) -> bool:
    return environ.get(ENV_DISABLE_AUTOLOAD, "").strip().lower() not in ("", "0", "false", "no")


@functools.cache
def _entry_points() -> tuple[tuple[str, str, importlib.metadata.EntryPoint], ...]:
    """``(name, distribution, entry point)`` of every installed smsbridge plugin.

    Scanning the installed distributions takes milliseconds; once a process is enough.
    """
    found = []
    for dist in importlib.metadata.distributions():
        for entry in dist.entry_points:
            if entry.group == ENTRY_POINT_GROUP:
                found.append((entry.name, dist.metadata["name"] or "?", entry))
    return tuple(found)


def _shown(plugin: object) -> str:
    """A plugin object by its type, the way its author knows it."""
    kind = plugin if isinstance(plugin, type) else type(plugin)
    return f"{kind.__module__}.{kind.__qualname__}"


def _load_failed(name: str, dist: str, error: BaseException) -> ConfigurationError:
    return ConfigurationError(
        f"the smsbridge plugin {name!r} (from {dist}) failed to load: "
        f"{type(error).__name__}: {error}. Fix or uninstall it, or skip it with "
        f"SMSBRIDGE_BLOCKED_PLUGINS={name}"
    )


class PluginHost:
    """A plugin manager plus typed calls of each hook."""

    def __init__(
        self,
        plugins: Sequence[object] = (),
        *,
        autoload: bool | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        from smsbridge.testing import _plugin as fake_plugin  # built-in, registered explicitly

        pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        pm.add_hookspecs(hookspecs)
        pm.register(fake_plugin, name="smsbridge.fake")
        for name in env.get(ENV_BLOCKED_PLUGINS, "").split(","):
            if name.strip():
                pm.set_blocked(name.strip())
        if autoload if autoload is not None else not _autoload_disabled(env):
            for name, dist, entry in _entry_points():
                if pm.is_blocked(name) or pm.get_plugin(name) is not None:
                    continue
                try:
                    pm.register(entry.load(), name=name)
                except Exception as error:
                    raise _load_failed(name, dist, error) from None
        for plugin in plugins:
            if pm.is_registered(plugin):
                continue  # its entry point loaded it already: one registration is enough
            try:
                pm.register(plugin)
            except pluggy.PluginValidationError as error:
                raise ConfigurationError(
                    f"the plugin {_shown(plugin)} passed to the client is invalid: {error}"
                ) from None
        try:
            # Refuses hook implementations whose names match no spec (a misspelled hook).
            pm.check_pending()
        except pluggy.PluginValidationError as error:
            name = pm.get_name(error.plugin) or _shown(error.plugin)
            if error.plugin in plugins:  # passed in code: there is no entry point to block
                raise ConfigurationError(
                    f"the plugin {_shown(error.plugin)} passed to the client is invalid: {error}"
                ) from None
            raise ConfigurationError(
                f"the smsbridge plugin {name!r} is invalid: {error}. "
                f"Skip it with SMSBRIDGE_BLOCKED_PLUGINS={name}"
            ) from None
        self.pm = pm
        self._providers: dict[str, type[BaseProvider]] | None = None

    # -- typed hook calls -------------------------------------------------------------------

    def before_send(self, send: OutgoingSend) -> None:
        """Run every ``smsbridge_before_send``; a replaced message must still be a message."""
        from smsbridge._models import Message, Template

        self.pm.hook.smsbridge_before_send(send=send)
        if not isinstance(send.message, Message | Template):
            raise ConfigurationError(
                "a smsbridge_before_send hook set send.message to a non-Message"
            )

    def after_send(self, send: OutgoingSend, report: SendReport) -> None:
        """Run every ``smsbridge_after_send``."""
        self.pm.hook.smsbridge_after_send(send=send, report=report)

    def provider_created(self, provider: BaseProvider) -> None:
        """Run every ``smsbridge_provider_created``."""
        self.pm.hook.smsbridge_provider_created(provider=provider)

    def _observe(self, hook: str, **kwargs: object) -> None:
        """Run an observing hook called in the middle of a send. Its failure is logged, not
        raised: requests have gone out, and their results must reach the caller."""
        try:
            getattr(self.pm.hook, hook)(**kwargs)
        except Exception as error:
            from smsbridge import _logging as log

            log.error("sms_hook_failed", hook=hook, error=type(error).__name__)

    def attempt(self, attempt: AttemptReport) -> None:
        """Run every ``smsbridge_attempt``."""
        self._observe("smsbridge_attempt", attempt=attempt)

    def failover(self, failover: Failover) -> None:
        """Run every ``smsbridge_failover``."""
        self._observe("smsbridge_failover", failover=failover)

    def provider_health(self, health: ProviderHealth, previous: CircuitState) -> None:
        """Run every ``smsbridge_provider_health``."""
        self._observe("smsbridge_provider_health", health=health, previous=previous)

    # -- providers --------------------------------------------------------------------------

    def provider_classes(self) -> dict[str, type[BaseProvider]]:
        """Every registered provider class by URL scheme."""
        if self._providers is None:
            found: dict[str, type[BaseProvider]] = {}
            for impl in self.pm.hook.smsbridge_register_providers.get_hookimpls():
                try:
                    contributed = cast("Iterable[object]", impl.function())
                except Exception as error:
                    raise _load_failed(
                        impl.plugin_name, "its smsbridge_register_providers", error
                    ) from None
                for cls in contributed:
                    if not (isinstance(cls, type) and issubclass(cls, BaseProvider)):
                        raise ConfigurationError(f"{cls!r} is not a BaseProvider subclass")
                    if not cls.scheme:
                        raise ConfigurationError(f"provider {cls.__name__} declares no scheme")
                    other = found.get(cls.scheme)
                    if other is not None and other is not cls:
                        raise ConfigurationError(
                            f"two plugins register the scheme {cls.scheme!r}: "
                            f"{other.__module__}.{other.__name__} and "
                            f"{cls.__module__}.{cls.__name__}"
                        )
                    found[cls.scheme] = cls
            self._providers = found
        return self._providers

    def provider_class(self, scheme: str) -> type[BaseProvider]:
        """The provider class for ``scheme``, or a ConfigurationError listing the known ones."""
        classes = self.provider_classes()
        try:
            return classes[scheme]
        except KeyError:
            known = ", ".join(sorted(classes)) or "none"
            raise ConfigurationError(
                f"no provider is registered for the URL scheme {scheme!r} (known: {known})"
            ) from None

    def plugin_names(self) -> list[str]:
        """Names of the registered plugins, for diagnostics."""
        return sorted(name for name, _ in self.pm.list_name_plugin() if name)
