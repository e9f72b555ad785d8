"""GitHub release assets: the stand-in models them as GitHub documents, and a release made
draft → sdist, wheel, SHA256SUMS (and the image's SBOM) → published converges when stopped
between any two of these, and refuses other bytes in one line."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from release_engine.errors import ConflictError, ReleaseError
from release_engine.rehearsal import clone_for_rehearsal, rehearsal_context
from release_engine.remotes import index
from release_engine.remotes.github.assets import SUMS, ReleaseAssets, parse_sums, render_sums
from release_engine.remotes.github.client import GitHubClient
from release_engine.standins.github_api import GitHubStandIn
from release_engine.verify import check_published, web_base
from release_engine.version import parse_version
from tests.conftest import REPO as ROOT
from tests.engine.conftest import VERSION, Rehearsal, github_get
from tests.engine.test_github_contract import REPO, assert_contract

UPLOADS = r"/repos/[^/]+/[^/]+/releases/\d+/assets"


def _download(url: str) -> bytes | int:
    """What anyone (no token) gets at *url*: the bytes, or the HTTP status."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return bytes(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code


def test_drafts_take_assets_published_immutable_releases_do_not(
    gh: GitHubStandIn, tmp_path: Path
) -> None:
    client = GitHubClient(gh.url, REPO, gh.token, write_interval=0)
    releases = ReleaseAssets(client)
    wheel = tmp_path / "pkg-1.0.0-py3-none-any.whl"
    wheel.write_bytes(b"a wheel")
    draft = releases.create_draft("v1.0.0", name="v1.0.0", body="notes", prerelease=False)
    assert draft.draft and "/releases/tag/untagged-" in draft.html_url
    assert client.release_for_tag("v1.0.0") is None  # GitHub finds no draft by its tag
    assert releases.find("v1.0.0") == draft
    asset = releases.upload(draft.id, wheel)
    assert asset.sha256 == hashlib.sha256(b"a wheel").hexdigest() and asset.size == 7
    assert releases.upload(draft.id, wheel) == asset  # 422 already_exists: the one it holds
    assert _download(asset.download_url) == 404  # a draft's assets are no one's to download
    published = releases.publish(draft.id, make_latest=True)
    assert not published.draft and client.release_for_tag("v1.0.0") == published
    served = releases.assets(draft.id)[wheel.name]
    assert _download(served.download_url) == b"a wheel"  # anyone's, without a token
    other = tmp_path / SUMS
    other.write_text(render_sums({wheel.name: asset.sha256 or ""}))
    with pytest.raises(ConflictError, match="immutable release takes no new asset"):
        releases.upload(draft.id, other)
    assert parse_sums(other.read_text()) == {wheel.name: asset.sha256}
    assert_contract(
        gh,
        {
            "POST /repos/{owner}/{repo}/releases 201",
            "GET /repos/{owner}/{repo}/releases 200",
            "POST /repos/{owner}/{repo}/releases/{release_id}/assets 201",
            "POST /repos/{owner}/{repo}/releases/{release_id}/assets 422",
            "GET /repos/{owner}/{repo}/releases/{release_id}/assets 200",
            "PATCH /repos/{owner}/{repo}/releases/{release_id} 200",
        },
    )


@pytest.mark.e2e
def test_assets_match_the_index_and_a_stop_between_uploads_converges_from_another_clone(
    imageless_rehearsal: Rehearsal, tmp_path: Path
) -> None:
    r, gh = imageless_rehearsal, imageless_rehearsal.s.github
    # GitHub stores the first asset, then answers 502: the run stops there.
    gh.fail(502, method="POST", path=UPLOADS, after=True)
    with pytest.raises(ReleaseError, match="502"):
        r.run()
    assert [rel["draft"] for rel in github_get(r.s, "/releases")] == [True]
    # Another machine: a fresh clone of the remote, nothing built there.
    other = clone_for_rehearsal(r.remote, tmp_path / "other")
    report = Rehearsal(other, r.remote, r.s).run()
    assert {o.name: o.status for o in report.steps}["github-release"] == "acted"

    (release,) = github_get(r.s, "/releases")
    assert not release["draft"] and release["tag_name"] == f"v{VERSION}"
    assets = {a["name"]: a for a in release["assets"]}
    served = index.served_files(r.s.index.simple_url, "market-data-ingestion")
    assert sorted(assets) == sorted([*served, SUMS])
    for name, sha in served.items():
        assert assets[name]["digest"] == f"sha256:{sha}"  # the very bytes the index serves
    sums = _download(assets[SUMS]["browser_download_url"])
    assert isinstance(sums, bytes) and parse_sums(sums.decode()) == served
    for name in served:
        data = _download(assets[name]["browser_download_url"])
        assert isinstance(data, bytes) and hashlib.sha256(data).hexdigest() == served[name]
    # The order immutable releases need: every upload before the one PATCH that publishes.
    writes = [(e.method, e.status) for e in gh.exchanges if e.method in ("POST", "PATCH")]
    assert writes.index(("PATCH", 200)) > max(i for i, w in enumerate(writes) if w[0] == "POST")
    assert sum(1 for e in gh.exchanges if e.path.endswith("/releases") and e.method == "POST") == 1

    # A private repository: no anonymous download; the API's digests stand for SHA256SUMS.
    gh.assets.public = False
    ctx = rehearsal_context(other, parse_version(VERSION), r.s)
    with tempfile.TemporaryDirectory() as tmp:
        found = check_published(ctx, Path(tmp))
    assert found.problems == [] and found.private
    sdist = r.s.index.packages / f"market_data_ingestion-{VERSION}.tar.gz"
    sdist.write_bytes(sdist.read_bytes() + b"\0")
    with tempfile.TemporaryDirectory() as tmp:
        found = check_published(ctx, Path(tmp))
    assert [p.split(":")[0] for p in found.problems] == [sdist.name]


@pytest.mark.e2e
def test_an_asset_with_other_bytes_is_a_conflict_named_in_one_line(
    imageless_rehearsal: Rehearsal, tmp_path: Path
) -> None:
    r, gh = imageless_rehearsal, imageless_rehearsal.s.github
    releases = ReleaseAssets(GitHubClient(gh.url, gh.repository, gh.token, write_interval=0))
    draft = releases.create_draft(f"v{VERSION}", name="x", body="", prerelease=False)
    wrong = tmp_path / SUMS
    wrong.write_text("0" * 64 + "  something-else.whl\n")
    releases.upload(draft.id, wrong)
    with pytest.raises(ConflictError) as refused:
        r.run()
    message = str(refused.value)
    assert "\n" not in message and f"holds {SUMS} with other bytes" in message
    assert "delete that asset from the draft" in message
    assert [rel["draft"] for rel in github_get(r.s, "/releases")] == [True]  # not published


def test_verify_reads_downloads_from_githubs_web_host_and_needs_a_version() -> None:
    assert web_base("https://api.github.com") == "https://github.com"
    assert web_base("https://ghe.example.com/api/v3/") == "https://ghe.example.com"
    assert web_base("http://127.0.0.1:8080") == "http://127.0.0.1:8080"  # the stand-in
    proc = subprocess.run(
        ["inv", "release.verify"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2, proc.stderr
    assert "--version is required, for example: inv release.verify --version 1.2.3" in proc.stderr
