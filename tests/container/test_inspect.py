"""Looking at the local image store while other processes change it.

podman lists every image and layer of its store to inspect one name; another process removing
a build's intermediate or a container at that moment fails the inspect once ("layer not
known"). Such a failure is read again; a name the store does not hold is an answer, read once.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest

from release_engine.proc import read
from release_engine.remotes.registry.container import (
    BASE_IMAGE,
    ContainerEngine,
    _not_an_absence,
)

pytestmark = pytest.mark.container


def test_a_name_the_store_does_not_hold_is_an_answer_not_a_transient_failure(
    engine: ContainerEngine,
) -> None:
    absent = f"localhost/mdi-absent-{uuid.uuid4().hex[:8]}:v0"
    argv = ["inspect", "--type", "image"] if engine.name == "buildah" else ["image", "inspect"]
    proc = read([engine.name, *argv, absent], timeout=60)
    assert proc.returncode != 0 and not _not_an_absence(proc), proc.stderr
    if engine.name != "buildah":  # several names: the absent one alone is still an answer
        both = read([engine.name, "image", "inspect", BASE_IMAGE, absent], timeout=60)
        assert both.returncode != 0 and not _not_an_absence(both), both.stderr
    found = engine.inspect_each([BASE_IMAGE, absent])
    assert found[absent] is None and engine.id_of(found[BASE_IMAGE]) is not None


@pytest.mark.parametrize(
    "said",
    [
        "Error: layer not known",
        'Error: locating image with ID "3f2a": image not known\nError: layer not known',
        "Error: reading image: open /var/lib/containers/storage/overlay-images: no such file",
    ],
)
def test_a_failure_of_the_store_itself_is_transient(said: str) -> None:
    proc = subprocess.CompletedProcess(["podman"], 125, "", said + "\n")
    assert _not_an_absence(proc)
