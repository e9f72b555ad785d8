"""Release assets in the GitHub stand-in, as GitHub documents them.

- Uploads go to the uploads host named by a release's ``upload_url``
  (``POST {upload_url}?name=NAME[&label=L]`` with the raw bytes as the body; here, as on
  GitHub Enterprise Server, the uploads host is ``/api/uploads`` on the same origin). A second
  asset of the same name is refused (422 ``already_exists``): "you must delete the old file
  before you can re-upload".
- ``GET /releases/{id}/assets`` lists them with ``digest`` ("sha256:<hex>"), ``size`` and
  ``browser_download_url``; ``GET /releases/assets/{asset_id}`` shows one.
- Immutable releases (the repository setting, on by default here as it is the safe order to
  model): once a release is published its assets cannot be added, so an upload to it is
  refused (422); a draft takes them, which is why a release is made draft → assets → publish.
- ``browser_download_url`` (``/{owner}/{repo}/releases/download/{tag}/{name}`` on the web
  host) serves the bytes of a published release's asset to anyone, without a token, as a
  public repository's downloads are; a draft's are not served there.

The bytes are kept in a directory (beside the state file when there is one, so a restarted
stand-in keeps them); the metadata in the state's JSON.
"""

from __future__ import annotations

__all__ = ["UPLOADS_PREFIX", "Assets"]

import hashlib
import mimetypes
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from .github_state import GitHubState, Json, Reply, not_found

#: Where the stand-in's uploads host is: GitHub Enterprise Server's path for it.
UPLOADS_PREFIX = "/api/uploads"
_DOCS = "https://docs.github.com/rest/releases/assets"
_DOWNLOAD = re.compile(
    r"/(?P<owner>[^/]+)/(?P<repo>[^/]+)/releases/download/(?P<tag>.+)/(?P<name>[^/]+)"
)
Answer = tuple[int, Any, dict[str, str]]


def _refused(code: str, message: str = "Validation Failed") -> Reply:
    errors = [{"resource": "ReleaseAsset", "code": code, "field": "name"}]
    return Reply(422, {"message": message, "errors": errors, "documentation_url": _DOCS})


class Assets:
    """The assets of one stand-in repository's releases; *files* holds their bytes."""

    def __init__(self, state: GitHubState, files: Path | None = None) -> None:
        self.state = state
        if files is None and state.state_file is not None:
            files = state.state_file.with_name(state.state_file.name + ".assets")
        self.files = files or Path(tempfile.mkdtemp(prefix="github-assets-"))
        self.files.mkdir(parents=True, exist_ok=True)
        #: GitHub's "immutable releases" setting: a published release takes no new asset.
        self.immutable = True
        #: A public repository: its published assets download without a token.
        self.public = True
        state.data.setdefault("assets", [])

    # --- the operations ----------------------------------------------------------------
    def upload(self, release_id: int, query: dict[str, list[str]], data: bytes) -> Json:
        """``POST {upload_url}?name=`` (the caller holds the state's lock)."""
        release = self.state.find_release(release_id)
        name = (query.get("name") or [""])[0]
        if not name:
            raise _refused("missing_field")
        if self.immutable and not release["draft"]:
            raise _refused("custom", "Cannot upload assets to an immutable release.")
        if any(a["name"] == name for a in self._of(release_id)):
            raise _refused("already_exists")
        asset_id = self.state.next_id()
        (self.files / str(asset_id)).write_bytes(data)
        now = release.get("published_at") or release["created_at"]
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        asset = {"id": asset_id, "release_id": release_id, "name": name,
                 "label": (query.get("label") or [""])[0] or None, "content_type": kind,
                 "size": len(data), "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                 "created_at": now, "updated_at": now}  # fmt: skip
        self.state.data["assets"].append(asset)
        self.state.save()
        return self.render(asset)

    def listed(self, release_id: int) -> list[Json]:
        self.state.find_release(release_id)  # 404 for a release that is not there
        return [self.render(a) for a in self._of(release_id)]

    def get(self, asset_id: int) -> Json:
        for asset in self.state.data["assets"]:
            if asset["id"] == asset_id:
                return self.render(asset)
        raise not_found()

    def download(self, path: str) -> Answer | None:
        """The bytes at a ``browser_download_url`` *path*, or None when *path* is not one."""
        match = _DOWNLOAD.fullmatch(path)
        if match is None or f"{match['owner']}/{match['repo']}" != self.state.repository:
            return None
        if not self.public:  # a private repository's downloads: a web login, not a token
            return 404, b"Not Found", {"Content-Type": "text/plain"}
        tag, name = unquote(match["tag"]), unquote(match["name"])
        with self.state.lock:
            found = [
                a for r in self.state.data["releases"] if r["tag_name"] == tag and not r["draft"]
                for a in self._of(r["id"]) if a["name"] == name
            ]  # fmt: skip
        if not found:
            return 404, b"Not Found", {"Content-Type": "text/plain"}  # a web page, not JSON
        data = (self.files / str(found[0]["id"])).read_bytes()
        return 200, data, {"Content-Type": "application/octet-stream"}

    # --- what tests change --------------------------------------------------------------
    def replace_bytes(self, tag: str, name: str, data: bytes) -> None:
        """Swap an asset's stored bytes behind GitHub's back (its digest is left as it was),
        as a test of a verifier that must read the bytes, not trust the listing."""
        with self.state.lock:
            for release in self.state.data["releases"]:
                for asset in self._of(release["id"]):
                    if release["tag_name"] == tag and asset["name"] == name:
                        (self.files / str(asset["id"])).write_bytes(data)
                        return
        raise KeyError(f"{tag}/{name}")

    # --- shapes ------------------------------------------------------------------------
    def _of(self, release_id: int) -> list[Json]:
        return [a for a in self.state.data["assets"] if a["release_id"] == release_id]

    def rendered_for(self, release: Json) -> list[Json]:
        return [self.render(a) for a in self._of(release["id"])]

    def render(self, a: Json) -> Json:
        release = self.state.find_release(a["release_id"])
        tag = release["tag_name"] if not release["draft"] else f"untagged-{release['id']}"
        download = f"{self.state.web_url()}/releases/download/{quote(tag)}/{quote(a['name'])}"
        return {"url": f"{self.state.api_url()}/releases/assets/{a['id']}",
                "browser_download_url": download, "id": a["id"], "node_id": f"RA_{a['id']}",
                "name": a["name"], "label": a["label"], "state": "uploaded",
                "content_type": a["content_type"], "size": a["size"], "digest": a["digest"],
                "download_count": 0, "created_at": a["created_at"],
                "updated_at": a["updated_at"],
                "uploader": self.state.render_user("release-bot", "Bot")}  # fmt: skip
