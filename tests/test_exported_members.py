"""The public names of the package (smsbridge/__init__.py)."""

from __future__ import annotations

import types

import smsbridge
import smsbridge.exceptions
import smsbridge.testing


class TestExportedMembers:
    """``__all__`` is sorted, complete, and every name in it resolves."""

    def test_all_is_sorted(self) -> None:
        """Sorted, so additions land in one obvious place."""
        assert smsbridge.__all__ == sorted(smsbridge.__all__)

    def test_all_is_complete(self) -> None:
        """Every public name of the package is exported, and nothing else."""
        public = {
            name
            for name in dir(smsbridge)
            if not name.startswith("_")
            and not isinstance(getattr(smsbridge, name), types.ModuleType)
        }
        assert set(smsbridge.__all__) == public

    def test_exported_objects_have_docstrings(self) -> None:
        """Every export documents itself."""
        for name in smsbridge.__all__:
            assert getattr(smsbridge, name).__doc__, name

    def test_every_error_is_exported(self) -> None:
        """Every exception class of the taxonomy is importable from the package root."""
        for name in smsbridge.exceptions.__all__:
            if name != "error_for_category":
                assert name in smsbridge.__all__, name

    def test_testing_module(self) -> None:
        """Every name smsbridge.testing exports resolves."""
        for name in smsbridge.testing.__all__:
            assert hasattr(smsbridge.testing, name)

    def test_version(self) -> None:
        """The package has a version string."""
        assert isinstance(smsbridge.__version__, str)
