"""Building the plugin manager, on demand and never at import time.

Built-in plugins are registered explicitly; third-party ones come from the entry-point group
``smsbridge`` unless ``SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD`` is set. Plugins named in
``SMSBRIDGE_BLOCKED_PLUGINS`` (comma-separated entry-point names) are never loaded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Final

import pluggy

from smsbridge import hookspecs
from smsbridge.exceptions import ConfigurationError
from smsbridge.provider import BaseProvider

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


class PluginHost:
    """A plugin manager plus typed calls of each hook, so core code never touches ``pm.hook``."""

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
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        for plugin in plugins:
            pm.register(plugin)
        # Refuses hook implementations whose names match no spec (a misspelled hook).
        pm.check_pending()
        self.pm = pm
        self._providers: dict[str, type[BaseProvider]] | None = None

    @property
    def hook(self) -> pluggy.HookRelay:
        """The raw hook relay, for callers that need pluggy itself."""
        return self.pm.hook

    def provider_classes(self) -> dict[str, type[BaseProvider]]:
        """Every registered provider class by URL scheme."""
        if self._providers is None:
            found: dict[str, type[BaseProvider]] = {}
            for contributed in self.pm.hook.smsbridge_register_providers():
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
