"""The release engine: every step of the release process (docs/RELEASING.md retells it),
observed, planned, acted and verified.

``__version__`` is the engine's own version, which is the project's: the installed
distribution's metadata when there is one, else ``pyproject.toml`` beside this package.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

__all__ = ["__version__"]

_DISTRIBUTION = "market-data-ingestion"


def _version() -> str:
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:  # a checkout that was never installed
        with pyproject.open("rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0+unknown"


__version__ = _version()
