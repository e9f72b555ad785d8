"""GitHub release assets: a draft release, its assets with their sha256, publishing it.

GitHub's immutable releases refuse assets once a release is published, so a release is made
draft → assets → publish. A draft is not found by its tag (``GET /releases/tags/{tag}`` finds
published releases only), so it is looked for in the list of releases, which shows drafts to a
token that may push. Each asset's ``digest`` ("sha256:<hex>") is what GitHub computed from the
bytes it holds. ``SHA256SUMS`` lines are GNU coreutils' (``sha256sum --check`` reads them).
"""

from __future__ import annotations

__all__ = ["SUMS", "AssetInfo", "ReleaseAssets", "parse_sums", "render_sums"]

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ...errors import ConflictError
from ...proc import memoized
from .client import GitHubClient, ReleaseInfo, _info
from .http import GitHubError

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
        self._upload_urls: dict[int, str] = {}  # release id -> its upload_url (never changes)

    def find(self, tag: str) -> ReleaseInfo | None:
        """The release for *tag*, draft or published (a published one first)."""
        return memoized(self.client._key("release-or-draft", tag), lambda: self._find(tag))

    def _find(self, tag: str) -> ReleaseInfo | None:
        with self.client._errors(f"listing the releases to find {tag}", "contents: write"):
            listed = self.client.pages(f"{self.client.path}/releases")
            found = [_info(r) for r in listed if r["tag_name"] == tag]
        found.sort(key=lambda r: (r.draft, r.id))
        return found[0] if found else None

    def assets(self, release_id: int) -> dict[str, AssetInfo]:
        """name → asset of the release *release_id*."""
        key = self.client._key("assets", str(release_id))
        return memoized(key, lambda: self._assets(release_id))

    def _assets(self, release_id: int) -> dict[str, AssetInfo]:
        url = f"{self.client.path}/releases/{release_id}/assets"
        with self.client._errors(f"listing the assets of release {release_id}", "contents: read"):
            return {str(a["name"]): _asset(a) for a in self.client.pages(url)}

    def create_draft(self, tag: str, *, name: str, body: str, prerelease: bool) -> ReleaseInfo:
        """A draft release for *tag*: it takes assets; GitHub shows it to no one yet."""
        with self.client._errors(f"creating the draft release for {tag}", "contents: write"):
            made = self.client._send("POST", f"{self.client.path}/releases", {
                "tag_name": tag, "name": name, "body": body, "draft": True,
                "prerelease": prerelease})  # fmt: skip
        self._remember_upload_url(made)
        return _info(made)

    def _remember_upload_url(self, release: Mapping[str, object]) -> str:
        url = str(release["upload_url"]).split("{", 1)[0]  # a URI template: {?name}
        self._upload_urls[int(str(release["id"]))] = url
        return url

    def upload(self, release_id: int, path: Path, name: str | None = None) -> AssetInfo:
        """Upload *path* as the asset *name* (its file name) to the release's ``upload_url``:
        the uploads host GitHub names (uploads.github.com, or GHES's uploads path)."""
        name = name or path.name
        data = path.read_bytes()
        with self.client._errors(f"uploading {name} to release {release_id}", "contents: write"):
            upload_url = self._upload_urls.get(release_id) or self._remember_upload_url(
                self.client.get_json(f"{self.client.path}/releases/{release_id}")
            )
            try:
                asset, _ = self.client.http.request(
                    "POST", upload_url, params={"name": name}, data=data
                )
            except GitHubError as exc:
                said = exc.data
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
            return _asset(asset)

    def publish(self, release_id: int, *, make_latest: bool) -> ReleaseInfo:
        """Turn the draft *release_id* into a published release (GitHub makes its tag's page)."""
        with self.client._errors(f"publishing release {release_id}", "contents: write"):
            url = f"{self.client.path}/releases/{release_id}"
            current = _info(self.client.get_json(url))
            latest = "true" if make_latest and not current.prerelease else "false"
            return _info(self.client._send("PATCH", url, {
                "name": current.name or current.tag, "body": current.body, "draft": False,
                "prerelease": current.prerelease, "make_latest": latest}))  # fmt: skip


def _asset(data: Mapping[str, object]) -> AssetInfo:
    digest = str(data.get("digest") or "")
    return AssetInfo(
        id=int(str(data["id"])),
        name=str(data["name"]),
        sha256=digest.removeprefix("sha256:") if digest.startswith("sha256:") else None,
        size=int(str(data.get("size") or 0)),
        download_url=str(data.get("browser_download_url") or ""),
    )
