"""A rerun on another machine builds the image again and compares image IDs with the registry.

The registry already holding the tag is not trusted: a run that finds no local image rebuilds
it from the tag, and the image-push step compares the rebuilt image's ID with the config
digest the registry's manifest names; a different one is a conflict in one line (exit 3).
The image's lock (the tag's uv.lock exported with hashes) is a release asset in SHA256SUMS.
"""

from __future__ import annotations

import hashlib
import urllib.request

import pytest

from release_engine.errors import ConflictError
from release_engine.proc import run
from release_engine.rehearsal import rehearsal_context
from release_engine.remotes.github.assets import SUMS, parse_sums
from release_engine.remotes.registry.repro import NotReproducedError, config_digest, lock_name
from release_engine.tools.image_lock import export_lock
from release_engine.version import parse_version
from tests.engine.conftest import VERSION, Rehearsal, github_get

pytestmark = pytest.mark.e2e
MISMATCH = r"the image built here from v\S+ is sha256:\w+, but the registry's \S+ is sha256:"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return bytes(answer.read())


def test_a_rerun_without_the_image_rebuilds_it_and_a_different_build_is_refused(
    rehearsal: Rehearsal,
) -> None:
    if rehearsal.s.registry is None:
        pytest.skip("no container engine")
    rehearsal.run()
    ctx = rehearsal_context(rehearsal.work, parse_version(VERSION), rehearsal.s)
    assert ctx.container is not None
    engine, tag = ctx.container, f"v{VERSION}"
    ref = f"{ctx.config.image}:{tag}"
    published = engine.image_id(ref)
    assert published is not None
    assert config_digest(ctx.registry, tag) == published  # the pushed config is the image ID

    # The lock the image installed from is an asset, in SHA256SUMS, exported from the tag.
    (release,) = github_get(rehearsal.s, "/releases")
    assets = {a["name"]: a["browser_download_url"] for a in release["assets"]}
    lock = _get(assets[lock_name(ctx)])
    assert lock.decode() == export_lock(ctx.state_dir / "src")
    assert b"--hash=sha256:" in lock
    sums = parse_sums(_get(assets[SUMS]).decode())
    assert sums[lock_name(ctx)] == hashlib.sha256(lock).hexdigest()

    # Another machine: no local image. The rerun builds it again and finds it the same.
    for name in ctx.image_tags:
        engine.remove(f"{ctx.config.image}:{name}")
    again = rehearsal.run()
    statuses = {o.name: o.status for o in again.steps}
    assert statuses["image"] == "acted" and statuses["image-push"] == "done", statuses
    assert engine.image_id(ref) == published

    # A local image of this version that is not the published one: refused, nothing pushed.
    context = rehearsal.work.parent / "other-image"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {ref}\nLABEL org.example.other=yes\n")
    tags = [arg for name in ctx.image_tags for arg in ("--tag", f"{ctx.config.image}:{name}")]
    run([engine.name, "build", "--isolation=chroot", *tags, str(context)], timeout=600)
    other = engine.image_id(ref)
    assert other is not None and other != published
    with pytest.raises(ConflictError, match=MISMATCH) as exc:
        rehearsal.run()
    assert "\n" not in exc.value.message and exc.value.exit_code == 3
    assert config_digest(ctx.registry, tag) == published

    # The registry holding another image under the tag, on a machine with none: the rebuild
    # is the published one no more, and that is refused after the build, before any push.
    ctx.registry.login()
    run(engine.push_command(ref, tls_verify=False, authfile=ctx.registry.authfile,
                            pass_fds=ctx.registry.pass_fds))  # fmt: skip
    assert config_digest(ctx.registry, tag) == other
    for name in ctx.image_tags:
        engine.remove(f"{ctx.config.image}:{name}")
    with pytest.raises(NotReproducedError, match=MISMATCH) as refused:
        rehearsal.run()
    assert "\n" not in refused.value.message and refused.value.exit_code == 3
    assert engine.image_id(ref) == published  # rebuilt, the same as first published
