"""bench/harness.py's ratio: the median of the rounds' own ratios (bench/README.md)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("bench_harness", REPO / "bench" / "harness.py")
assert spec is not None and spec.loader is not None
harness = importlib.util.module_from_spec(spec)
sys.modules["bench_harness"] = harness  # its dataclasses look their module up
spec.loader.exec_module(harness)


def test_a_rows_ratio_follows_its_rounds_not_the_machines_drift() -> None:
    """Equal work, 2 % more for ours, on a machine that halves its speed during round 3: each
    round but that one says 1.02x, and so does the row; the ratio of the medians says 2.04x."""
    peer = [1.0, 1.0, 1.0, 2.0, 2.0]
    ours = [1.02, 1.02, 2.04, 2.04, 2.04]
    r = harness.row("m", {"ours": ours, "peer": peer}, "ours", "peer", "p", "≤ 1.05x", 1.05)
    assert r.ours / r.peer == pytest.approx(2.04)
    assert r.ratio == pytest.approx(1.02) and r.met


def test_a_row_without_paired_rounds_is_the_ratio_of_its_medians() -> None:
    r = harness.row("ci", {"ci": [1900.0], "limit": [1800.0]}, "ci", "limit", "l", "≤ 1.00x", 1.0)
    assert r.ratio == pytest.approx(1900 / 1800) and not r.met
    uneven = harness.Row("m", 2.0, "p", 1.0, "t", None, {"a": [2.0, 2.0], "b": [1.0]})
    assert uneven.ratio == 2.0
