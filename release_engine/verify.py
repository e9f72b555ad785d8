"""``inv release.verify``: what the index, the registry and GitHub serve, checked together.

Anyone can run it: it reads what the public reads (the index's simple API, the registry's
manifests, the release's download URLs, which a public repository serves without a token),
and uses a credential only when one is set (a private index or registry). It downloads the
release's ``SHA256SUMS`` and checks every other thing against it and against each other:

- each file the index serves for the version: its bytes, its sha256 on the index page, and
  the line of ``SHA256SUMS`` naming it;
- each asset of the GitHub release: its bytes against ``SHA256SUMS``;
- the image in the registry: its digest against ``SHA256SUMS``, its version label;
- the SBOM: a valid CycloneDX document of that image digest, at this version.

Each mismatch is one line; :mod:`release_engine.verify_run` then runs what was published.
"""

from __future__ import annotations

__all__ = ["Checked", "check_published", "final_verification", "verify_release", "web_base"]

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from .errors import ReleaseError, VerificationError
from .remotes import index
from .remotes.github.assets import SUMS, parse_sums
from .remotes.index import simple_api
from .remotes.index.remote import credentials_login
from .remotes.registry.image import VERSION_LABEL
from .tools.sbom import SBOM_SUFFIX, sbom_components, validate

if TYPE_CHECKING:
    from .context import ReleaseContext

_TIMEOUT = 60


@dataclass
class Checked:
    """What the checks found: *problems* (one line each) and the files downloaded."""

    problems: list[str] = field(default_factory=list)
    wheel: Path | None = None
    image: str | None = None  # the image reference that was checked, to run it
    private: bool = False  # GitHub's downloads need a token: its API's digests were used
    checked: list[str] = field(default_factory=list)  # what was compared, for the summary


def web_base(api_url: str) -> str:
    """Where GitHub serves web pages and downloads for the API at *api_url*: github.com for
    api.github.com, the host itself for GitHub Enterprise Server (``/api/v3``)."""
    parts = urlsplit(api_url.rstrip("/"))
    if parts.netloc == "api.github.com":
        return "https://github.com"
    path = parts.path.removesuffix("/api/v3")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _get(session: requests.Session, url: str, what: str) -> bytes | None:
    """The bytes at *url*, None when it is not there (404)."""
    try:
        answer = session.get(url, timeout=_TIMEOUT)
    except requests.RequestException as exc:
        raise ReleaseError(f"could not read {what} at {url}: {type(exc).__name__}") from None
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise ReleaseError(f"{url} answered {answer.status_code} for {what}")
    return answer.content


def verify_release(ctx: ReleaseContext, *, run_published: bool = True) -> Checked:
    """The checks; then, when they all passed and *run_published*, the published wheel and
    image run (:mod:`release_engine.verify_run`). Their problems are the result's."""
    from .verify_run import run_image, run_wheel

    with tempfile.TemporaryDirectory(prefix="release-verify-") as tmp:
        found = check_published(ctx, Path(tmp))
        if not run_published or found.problems:
            return found
        version, package = ctx.version.pep440, ctx.config.package
        if found.wheel is not None:
            found.problems += run_wheel(found.wheel, package, version, Path(tmp))
            found.checked.append(f"ran {found.wheel.name}: --version, sample ingest")
        if found.image is not None and ctx.container is not None:
            registry = ctx.registry
            found.problems += run_image(
                ctx.container, found.image, version, tls_verify=ctx.config.registry_tls_verify,
                authfile=registry.authfile, pass_fds=registry.pass_fds,
            )  # fmt: skip
            found.checked.append(f"ran {found.image}: /health, /version")
    return found


def final_verification(ctx: ReleaseContext) -> str:
    """The checks (not the runs: kept cheap) as the last act of ``inv release``: what anyone
    downloads agrees with ``SHA256SUMS`` and with itself. A summary, or VerificationError."""
    with tempfile.TemporaryDirectory(prefix="release-verify-") as tmp:
        found = check_published(ctx, Path(tmp))
    if found.problems:
        raise VerificationError(
            f"what is published for {ctx.tag} does not verify: " + "; ".join(found.problems)
            + f". Investigate, then check again with: inv release.verify --version {ctx.version}"
        )  # fmt: skip
    return f"verified as anyone downloads them: {', '.join(found.checked) or 'nothing published'}"


def check_published(ctx: ReleaseContext, workdir: Path) -> Checked:
    """Every check above for the release *ctx* names; downloads go to *workdir*."""
    found = Checked()
    with requests.Session() as session:
        sums = _sums(ctx, session, found)
        if sums is None and ctx.github is not None:  # not downloadable: a private repository
            sums = _digests_through_the_api(ctx, found)
        _check_index(ctx, session, sums, workdir, found)
        if sums is not None and not found.private:
            _check_assets(ctx, session, sums, workdir, found)
        _check_image(ctx, sums, found)
    return found


def _digests_through_the_api(ctx: ReleaseContext, found: Checked) -> dict[str, str] | None:
    """The assets' digests as GitHub's API lists them (with the token), when their download
    URLs serve nothing without one: a private repository. The index is compared with them."""
    from .remotes.github.assets import ReleaseAssets

    assert ctx.github is not None
    releases = ReleaseAssets(ctx.github)
    release = releases.find(ctx.tag)
    listed = releases.assets(release.id) if release is not None and not release.draft else {}
    if SUMS not in listed:
        found.problems.append(f"GitHub release {ctx.tag}: no published {SUMS} asset")
        return None
    found.private = True
    found.checked.append(f"{SUMS} and the assets' digests, through GitHub's API")
    return {name: asset.sha256 or "" for name, asset in listed.items() if name != SUMS}


def _download_url(ctx: ReleaseContext, name: str) -> str:
    base = web_base(ctx.config.github_api_url)
    return f"{base}/{ctx.config.github_repository}/releases/download/{ctx.tag}/{name}"


def _sums(ctx: ReleaseContext, session: requests.Session, found: Checked) -> dict[str, str] | None:
    if not ctx.config.github_repository:
        return None
    url = _download_url(ctx, SUMS)
    data = _get(session, url, f"the {SUMS} of {ctx.tag}")
    if data is None:
        if ctx.github is None:
            found.problems.append(f"GitHub release {ctx.tag}: no {SUMS} asset at {url}")
        return None
    found.checked.append(SUMS)
    return parse_sums(data.decode("utf-8", errors="replace"))


def _check_index(
    ctx: ReleaseContext,
    session: requests.Session,
    sums: dict[str, str] | None,
    workdir: Path,
    found: Checked,
) -> None:
    simple = ctx.config.index_simple_url
    if not simple:
        return
    session.auth = credentials_login(ctx.credentials)
    page = simple_api.project_url(simple, ctx.config.package)
    listed = session.get(page, headers={"Accept": simple_api.ACCEPT}, timeout=_TIMEOUT)
    packages = []
    if listed.status_code == 200:
        packages = simple_api.parse_page(
            listed.content, listed.headers.get("Content-Type", ""), listed.url
        )
    names = index.release_files(
        [p.filename for p in packages], ctx.config.package, ctx.version.pep440
    )
    if len(names) < 2:
        found.problems.append(
            f"the index at {simple} serves {names or 'no file'} for {ctx.version}"
        )
    for package in (p for p in packages if p.filename in names):
        data = _get(session, package.url, package.filename) or b""
        sha = hashlib.sha256(data).hexdigest()
        (workdir / package.filename).write_bytes(data)
        if package.filename.endswith(".whl"):
            found.wheel = workdir / package.filename
        if package.sha256 and package.sha256.lower() != sha:
            found.problems.append(
                f"{package.filename}: the index's page says sha256 {package.sha256[:12]}, "
                f"its bytes hash to {sha[:12]}"
            )
        if sums is not None and sums.get(package.filename) != sha:
            said = (sums.get(package.filename) or "nothing")[:12]
            found.problems.append(
                f"{package.filename}: the index serves sha256 {sha[:12]}, {SUMS} says {said}"
            )
        found.checked.append(f"index {package.filename}")
    session.auth = None


def _check_assets(
    ctx: ReleaseContext,
    session: requests.Session,
    sums: dict[str, str],
    workdir: Path,
    found: Checked,
) -> None:
    image = f"{ctx.config.image}:{ctx.tag}"
    for name, sha in sorted(sums.items()):
        if name == image or "/" in name:  # an image reference (no asset name holds a "/")
            continue
        data = _get(session, _download_url(ctx, name), name)
        if data is None:
            found.problems.append(f"GitHub release {ctx.tag}: {SUMS} lists {name}, not an asset")
            continue
        got = hashlib.sha256(data).hexdigest()
        if got != sha:
            found.problems.append(
                f"{name}: GitHub serves sha256 {got[:12]}, {SUMS} says {sha[:12]}"
            )
        found.checked.append(f"asset {name}")
        if name.endswith(SBOM_SUFFIX):
            _check_sbom(ctx, name, data.decode("utf-8", errors="replace"), sums.get(image), found)


def _check_sbom(
    ctx: ReleaseContext, name: str, text: str, digest: str | None, found: Checked
) -> None:
    why = validate(text)
    if why is not None:
        found.problems.append(f"{name}: not a valid CycloneDX 1.6 document: {why}")
        return
    root = json.loads(text).get("metadata", {}).get("component", {})
    hashes = {h.get("content") for h in root.get("hashes", [])}
    if root.get("version") != ctx.version.pep440:
        found.problems.append(f"{name}: describes version {root.get('version')}, not {ctx.version}")
    if digest is not None and digest not in hashes:
        found.problems.append(f"{name}: describes another image than sha256:{digest[:12]}")
    listed = sbom_components(text)
    if listed.get(ctx.config.package) != ctx.version.pep440:
        found.problems.append(f"{name}: lists no {ctx.config.package} {ctx.version}")


def _check_image(ctx: ReleaseContext, sums: dict[str, str] | None, found: Checked) -> None:
    if not ctx.config.image or ctx.container is None:  # no image published by this run
        return
    ref = f"{ctx.config.image}:{ctx.tag}"
    digest = ctx.registry.digest(ctx.tag)
    if digest is None:
        found.problems.append(f"the registry has no {ref}")
        return
    found.image = ref
    label = ctx.registry.labels(ctx.tag).get(VERSION_LABEL)
    if label != ctx.version.pep440:
        found.problems.append(f"{ref}: labelled version {label}, not {ctx.version}")
    said = (sums or {}).get(ref)
    if sums is not None and not found.private and said != digest.removeprefix("sha256:"):
        found.problems.append(
            f"{ref}: the registry serves {digest[:19]}, {SUMS} says {(said or 'nothing')[:12]}"
        )
    found.checked.append(f"image {ref}")
