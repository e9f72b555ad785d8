"""``inv release --prebuilt DIR``: CI's build job's sdist and wheel, checked against the tag.

The build step rebuilds the tag's clean export and compares sha256: one changed byte is
refused in one line naming the file (exit 3), before anything is published; matching files
are used, and the PEP 740 attestations beside them go to the index with
``twine upload --attestations`` (the pypiserver stand-in takes them)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from release_engine.context import Options
from release_engine.engine import release
from release_engine.errors import UsageError
from release_engine.output import ConsoleReporter
from release_engine.proc import recording
from release_engine.rehearsal import rehearsal_context
from release_engine.remotes import index
from release_engine.remotes.index.prebuilt import PrebuiltMismatchError, require_prebuilt
from release_engine.remotes.index.upload import served_files
from release_engine.version import parse_version
from tests.engine.conftest import VERSION, Rehearsal

pytestmark = pytest.mark.e2e


class Stop(Exception):
    """Ends a run once the build step acted: its files are what CI's build job would make."""


def _stop_after_build(name: str) -> None:
    if name == "build":
        raise Stop


def _run(r: Rehearsal, prebuilt: Path | None, **kwargs: object) -> object:
    options = Options(prebuilt=str(prebuilt) if prebuilt else None)
    ctx = rehearsal_context(r.work, parse_version(VERSION), r.s, options=options)
    return release(ctx, ConsoleReporter(), **kwargs)  # type: ignore[arg-type]


#: What ``pypi-attestations sign`` writes (PEP 740's attestation object), as twine reads it:
#: JSON. The index stand-in, like any index but PyPI, does not verify it.
ATTESTATION = {
    "version": 1,
    "verification_material": {"certificate": "", "transparency_entries": []},
    "envelope": {"statement": "", "signature": ""},
}


def test_prebuilt_files_are_compared_with_the_tag_refused_or_used(
    imageless_rehearsal: Rehearsal, tmp_path: Path
) -> None:
    r = imageless_rehearsal
    r.add_fragment("+prebuilt.added.md", "Added a prebuilt release.")
    with pytest.raises(Stop):
        _run(r, None, after_step=_stop_after_build)
    dist = r.work / ".git" / "release" / f"v{VERSION}" / "dist"
    sdist, wheel = index.artifacts(dist, "market-data-ingestion", VERSION)
    prebuilt = tmp_path / "prebuilt"
    prebuilt.mkdir()
    for path in (sdist, wheel):
        shutil.copyfile(path, prebuilt / path.name)
    (prebuilt / f"{wheel.name}.publish.attestation").write_text(json.dumps(ATTESTATION))
    shutil.rmtree(dist)  # another machine: the build step builds the tag again

    # One byte changed: refused, naming the file, before anything is published.
    good = (prebuilt / wheel.name).read_bytes()
    (prebuilt / wheel.name).write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(
        PrebuiltMismatchError, match=rf"--prebuilt \S+/{wheel.name} has sha256 "
    ) as refused:
        _run(r, prebuilt)
    assert refused.value.exit_code == 3 and "\n" not in refused.value.message
    assert served_files(rehearsal_context(r.work, parse_version(VERSION), r.s)) == {}

    # The very bytes: used, and uploaded with the wheel's attestation.
    (prebuilt / wheel.name).write_bytes(good)
    shutil.rmtree(dist, ignore_errors=True)
    with recording() as commands:
        report = _run(r, prebuilt)
    uploads = [c.argv for c in commands if "upload" in c.argv]
    assert [argv[-1] for argv in uploads] == [str(dist / sdist.name), str(dist / wheel.name)]
    assert "--attestations" not in uploads[0]  # the sdist has none
    assert "--attestations" in uploads[1]
    assert str(dist / f"{wheel.name}.publish.attestation") in uploads[1]
    served = {a.filename: a.served_sha256 for a in report.artifacts}  # type: ignore[attr-defined]
    assert served[wheel.name] == index.sha256_of(prebuilt / wheel.name)


def test_a_prebuilt_directory_without_distributions_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no dists here")
    with pytest.raises(UsageError, match=r"^--prebuilt \S+ holds no sdist or wheel") as exc:
        require_prebuilt(str(tmp_path))
    assert exc.value.exit_code == 2 and "\n" not in str(exc.value)
