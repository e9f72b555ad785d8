"""GitHub release assets: a draft release, its assets with their sha256, publishing it.

GitHub's immutable releases refuse assets once a release is published, so a release is made
draft → assets → publish. A draft is not found by its tag (``GET /releases/tags/{tag}`` finds
published releases only), so it is looked for in the list of releases, which shows drafts to a
token that may push. Each asset's ``digest`` ("sha256:<hex>") is what GitHub computed from the
bytes it holds. ``SHA256SUMS`` lines are GNU coreutils' (``sha256sum --check`` reads them).
"""

from __future__ import annotations

__all__ = ["SUMS", "AssetInfo", "ReleaseAssets", "parse_sums", "render_sums"]

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from github import GithubException

from ...errors import ConflictError
from ...proc import memoized
from .client import GitHubClient, ReleaseInfo, _info

SUMS = "SHA256SUMS"


@dataclass(frozen=True)
class AssetInfo:
    """One asset of a release, as GitHub lists it."""

    id: int
    name: str
    sha256: str | None  # None while GitHub has not computed it
    size: int
    download_url: str


def render_sums(sums: Mapping[str, str]) -> str:
    """``<sha256>  <name>`` lines, sorted by name."""
    return "".join(f"{sha}  {name}\n" for name, sha in sorted(sums.items()))


def parse_sums(text: str) -> dict[str, str]:
    """name → sha256 of a ``SHA256SUMS`` text (``*`` before a name: binary mode)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        sha, _, name = line.strip().partition("  ")
        if sha and name:
            found[name.removeprefix("*")] = sha.lower()
    return found


class ReleaseAssets:
    """The releases of *client*'s repository, drafts and assets included."""

    def __init__(self, client: GitHubClient) -> None:
        self.client = client

    def find(self, tag: str) -> ReleaseInfo | None:
        """The release for *tag*, draft or published (a published one first)."""
        return memoized(self.client._key("release-or-draft", tag), lambda: self._find(tag))

    def _find(self, tag: str) -> ReleaseInfo | None:
        with self.client._errors(f"listing the releases to find {tag}", "contents: write"):
            found = [_info(r) for r in self.client._repo.get_releases() if r.tag_name == tag]
        found.sort(key=lambda r: (r.draft, r.id))
        return found[0] if found else None

    def assets(self, release_id: int) -> dict[str, AssetInfo]:
        """name → asset of the release *release_id*."""
        key = self.client._key("assets", str(release_id))
        return memoized(key, lambda: self._assets(release_id))

    def _assets(self, release_id: int) -> dict[str, AssetInfo]:
        url = f"/repos/{self.client.repository}/releases/{release_id}/assets"
        found: dict[str, AssetInfo] = {}
        with self.client._errors(f"listing the assets of release {release_id}", "contents: read"):
            for page in range(1, 100):  # GitHub allows 1000 assets a release: 10 pages
                _, data = self.client._gh.requester.requestJsonAndCheck(
                    "GET", url, parameters={"per_page": 100, "page": page}
                )
                found.update((str(a["name"]), _asset(a)) for a in data)
                if len(data) < 100:
                    break
        return found

    def create_draft(self, tag: str, *, name: str, body: str, prerelease: bool) -> ReleaseInfo:
        """A draft release for *tag*: it takes assets; GitHub shows it to no one yet."""
        with self.client._errors(f"creating the draft release for {tag}", "contents: write"):
            release = self.client._repo.create_git_release(
                tag, name=name, message=body, draft=True, prerelease=prerelease
            )
            return _info(release)

    def upload(self, release_id: int, path: Path, name: str | None = None) -> AssetInfo:
        """Upload *path* as the asset *name* (its file name) on the uploads host."""
        name = name or path.name
        data = path.read_bytes()
        with self.client._errors(f"uploading {name} to release {release_id}", "contents: write"):
            release = self.client._repo.get_release(release_id)
            try:
                asset = release.upload_asset_from_memory(
                    io.BytesIO(data), len(data), name, content_type="application/octet-stream"
                )
            except GithubException as exc:
                said = exc.data if isinstance(exc.data, dict) else {}
                codes = {e.get("code") for e in said.get("errors") or [] if isinstance(e, dict)}
                if exc.status == 422 and "already_exists" in codes:  # compare, not overwrite
                    return self._assets(release_id)[name]
                if exc.status == 422:
                    raise ConflictError(
                        f"GitHub refused {name} for release {release_id} "
                        f"({said.get('message') or exc.status}): a published immutable release "
                        "takes no new asset; delete the release on GitHub, then run again"
                    ) from None
                raise
            return _asset(asset.raw_data)

    def publish(self, release_id: int, *, make_latest: bool) -> ReleaseInfo:
        """Turn the draft *release_id* into a published release (GitHub makes its tag's page)."""
        with self.client._errors(f"publishing release {release_id}", "contents: write"):
            current = self.client._repo.get_release(release_id)
            latest = "true" if make_latest and not current.prerelease else "false"
            release = current.update_release(
                name=current.name or current.tag_name, message=current.body or "",
                draft=False, prerelease=current.prerelease, make_latest=latest,
            )  # fmt: skip
            return _info(release)


def _asset(data: Mapping[str, object]) -> AssetInfo:
    digest = str(data.get("digest") or "")
    return AssetInfo(
        id=int(str(data["id"])),
        name=str(data["name"]),
        sha256=digest.removeprefix("sha256:") if digest.startswith("sha256:") else None,
        size=int(str(data.get("size") or 0)),
        download_url=str(data.get("browser_download_url") or ""),
    )
