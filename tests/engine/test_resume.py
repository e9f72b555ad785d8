"""A release interrupted right after any step is finished by running it again."""

from __future__ import annotations

import pytest

from release_engine.engine import STEPS
from tests.engine.test_release_e2e import Rehearsal, published_state, rehearsal  # noqa: F401

pytestmark = pytest.mark.e2e


class Interrupted(Exception):
    """Stands for the maintainer's Ctrl-C, a lost network or a killed terminal."""


def comparable(state: dict[str, object]) -> dict[str, object]:
    """The published state, minus what differs between any two runs (the tag object's sha)."""
    return {k: v for k, v in state.items() if k != "tag_sha"}


@pytest.mark.parametrize("step", [s.name for s in STEPS])
def test_interrupted_after_step_then_rerun_reaches_the_same_end(
    rehearsal: Rehearsal, step: str  # noqa: F811
) -> None:
    def interrupt(name: str) -> None:
        if name == step:
            raise Interrupted(name)

    try:
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
    assert state["release_posts"] == 1
    assert state["notifications"] == 1
    assert len(state["packages_on_disk"]) == 2  # type: ignore[arg-type]
    assert state["tag_message"] == "Release version 0.2.0"
    assert "Merge release/v0.2.0 into main" in str(state["merges"])
    assert state["release_bodies"] == [state["section"]]
    if rehearsal.s.registry is not None:
        assert state["one_digest"]
