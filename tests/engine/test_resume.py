"""A release interrupted right after any step is finished by running it again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from release_engine.rehearsal import clone_for_rehearsal, stand_ins
from release_engine.steps import RELEASE_STEPS as STEPS
from tests.engine.conftest import VERSION, Rehearsal, configure_mail, published_state

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
    "emails",
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
        given={"registry": shared_registry},
        without=set() if shared_registry is not None else {"registry"},
        namespace="baseline/",
    ) as s:
        r = Rehearsal(clone_for_rehearsal(source_repo, tmp), tmp / "remote.git", s, DAY)
        configure_mail(r)
        r.run()
        return published_state(r)


#: Steps a release from main with the default settings skips: a hotfix's forward merge and the
#: next development cycle. Their resumes are in test_forward_rollback_guards / test_next_cycle.
SKIPPED_HERE = {"forward-merge", "next-cycle", *("discord", "mastodon", "teams")}  # unconfigured


#: The steps that act here, in order (the image steps too when a container engine exists).
ACTING = [s.name for s in STEPS if s.name not in SKIPPED_HERE]
IMAGE_STEPS = ("image", "image-push", "image-sbom")


@pytest.mark.timeout(1800)  # a release and fifteen resumed runs: 600 s is for one release
def test_interrupted_after_step_then_rerun_reaches_the_same_end(
    rehearsal: Rehearsal,
    baseline: dict[str, object],
) -> None:
    """One release interrupted after every step in turn: run k stops right after step k; the
    next run finds steps 1..k done, acts step k+1 first and is stopped after it. The run after
    the last interruption finishes the release, as one uninterrupted release did (baseline).
    """
    rehearsal.date = DAY
    configure_mail(rehearsal)  # the email step acts, and is resumed, too
    # Without a container engine (never under CI) the image steps are skipped, not acted.
    acting = [s for s in ACTING if s not in IMAGE_STEPS or rehearsal.s.registry is not None]
    acted: list[str] = []  # what the run acted, up to its interruption

    def interrupt(name: str) -> None:
        acted.append(name)
        raise Interrupted(name)

    for k, step in enumerate(acting):
        acted.clear()
        with pytest.raises(Interrupted):
            rehearsal.run(after_step=interrupt)
        assert acted == [step], f"run {k + 1} acted {acted} first, not {step}"
        reported = {o.name: o.status for o in rehearsal.reporter.seen}
        # what was done is not done again: every step before is found done
        assert {name: reported.get(name) for name in acting[:k]} == dict.fromkeys(
            acting[:k], "done"
        ), f"run {k + 1}, stopped after {step}"
        assert reported[step] == "acted"

    report = rehearsal.run()
    assert [o.name for o in report.steps if o.status == "acted"] == []
    assert {o.name: o.status for o in report.steps if o.name in acting} == dict.fromkeys(
        acting, "done"
    )
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
