"""The release engine: every step of the release process (docs/RELEASING.md retells it),
observed, planned, acted and verified.

``__version__`` is the engine's own version, which is the project's: the installed
distribution's metadata when there is one, else ``pyproject.toml`` beside this package.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

__all__ = ["__version__"]

_DISTRIBUTION = "market-data-ingestion"


@functools.cache
def _version() -> str:
    from importlib import metadata  # here: a command that never shows the version skips it

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


def __getattr__(name: str) -> str:
    """``__version__``, found the first time it is asked for (PEP 562)."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
