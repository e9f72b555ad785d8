"""A release interrupted right after any step is finished by running it again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from release_engine.rehearsal import clone_for_rehearsal, stand_ins
from release_engine.steps import RELEASE_STEPS as STEPS
from tests.engine.conftest import VERSION, Rehearsal, published_state

pytestmark = pytest.mark.e2e


class Interrupted(Exception):
    """Stands for the maintainer's Ctrl-C, a lost network or a killed terminal."""


# What any two releases of the same commit on the same day publish alike: trees, names,
# notes, counts. (Commit and tag shas differ by their timestamps, and so do artifact hashes.)
DAY = "2026-01-15"  # the runs of one module may fall on both sides of midnight
SAME = (
    "tag_type",
    "tag_message",
    "tag_subject",
    "tag_tree",
    "main_tree",
    "merges",
    "main_contains_tag",
    "branches",
    "manifest",
    "init",
    "section",
    "served",
    "release_bodies",
    "release_posts",
    "notifications",
    "packages_on_disk",
    "image_tags",
    "one_digest",
    "image_label",
)


@pytest.fixture(scope="module")
def baseline(
    source_repo: Path, tmp_path_factory: pytest.TempPathFactory, shared_registry: Any
) -> dict[str, object]:
    """The published state of one uninterrupted release."""
    tmp = tmp_path_factory.mktemp("baseline")
    with stand_ins(
        tmp / "standins",
        registry=shared_registry,
        with_registry=shared_registry is not None,
        image_namespace="baseline/",
    ) as s:
        r = Rehearsal(clone_for_rehearsal(source_repo, tmp), tmp / "remote.git", s, DAY)
        r.run()
        return published_state(r)


#: Steps a release from main with the default settings skips: a hotfix's forward merge and the
#: next development cycle. Their resumes are in test_forward_rollback_guards / test_next_cycle.
SKIPPED_HERE = {"forward-merge", "next-cycle"}


@pytest.mark.parametrize("step", [s.name for s in STEPS if s.name not in SKIPPED_HERE])
def test_interrupted_after_step_then_rerun_reaches_the_same_end(
    rehearsal: Rehearsal,
    step: str,
    baseline: dict[str, object],
) -> None:
    def interrupt(name: str) -> None:
        if name == step:
            raise Interrupted(name)

    try:
        rehearsal.date = DAY
        rehearsal.run(after_step=interrupt)
    except Interrupted:
        pass
    else:
        if step not in ("image", "image-push") or rehearsal.s.registry is not None:
            pytest.fail(f"step {step} never ran")
        pytest.skip(f"{step} is skipped without a container engine")

    report = rehearsal.run()
    acted = [o.name for o in report.steps if o.status == "acted"]
    assert step not in acted  # what was done is not done again
    state = published_state(rehearsal)
    assert {k: state.get(k) for k in SAME} == {k: baseline.get(k) for k in SAME}
    assert state["release_posts"] == 1
    assert state["notifications"] == 1
    assert len(state["packages_on_disk"]) == 2  # type: ignore[arg-type]
    assert state["tag_message"] == f"Release version {VERSION}"
    assert f"Merge release/v{VERSION} into main" in str(state["merges"])
    assert state["release_bodies"] == [state["section"]]
    if rehearsal.s.registry is not None:
        assert state["one_digest"]
