"""The sample data set shipped inside the package."""

from __future__ import annotations

import atexit
import functools
import sys
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

__all__ = ["SAMPLE_FILE", "sample_path", "sample_resource"]

SAMPLE_FILE = "sample_bars.csv"

_files = ExitStack()
atexit.register(_files.close)


def sample_resource() -> Traversable:
    """The sample CSV as a package resource."""
    return resources.files("market_data_ingestion").joinpath("data").joinpath(SAMPLE_FILE)


@functools.cache
def sample_path() -> Path:
    """A filesystem path to the sample CSV (extracted to a temporary file if zipped)."""
    return _files.enter_context(resources.as_file(sample_resource()))
