"""A minimal PEP 517 backend: builds a pure-Python wheel of smsbridge_echo_plugin.

Only what pip needs to install this one package; the metadata mirrors pyproject.toml.
"""

from __future__ import annotations

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
PACKAGE = "smsbridge_echo_plugin"


def _project() -> dict[str, object]:
    with (HERE / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]  # type: ignore[no-any-return]


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings: object = None) -> list[str]:
    """Nothing beyond the standard library."""
    return []


def build_wheel(
    wheel_directory: str, config_settings: object = None, metadata_directory: object = None
) -> str:
    """Write the wheel into ``wheel_directory`` and return its file name."""
    project = _project()
    name, version = str(project["name"]), str(project["version"])
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    entry_points = project["entry-points"]  # type: ignore[index]
    lines = ["[smsbridge]"] + [f"{k} = {v}" for k, v in entry_points["smsbridge"].items()]
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {project['description']}",
        f"Requires-Python: {project['requires-python']}",
    ] + [f"Requires-Dist: {dep}" for dep in project["dependencies"]]  # type: ignore[attr-defined]
    files: dict[str, bytes] = {
        f"{PACKAGE}/{path.name}": path.read_bytes()
        for path in sorted((HERE / PACKAGE).glob("*.py"))
    }
    files[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: _build_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = ("\n".join(lines) + "\n").encode()
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel_name = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / wheel_name, "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return wheel_name
