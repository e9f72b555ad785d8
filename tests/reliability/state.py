"""What the world shows: the end state of a release, what the servers counted, and snapshots.

:func:`end_state` reads the remote and every server back, with what differs between two worlds
only by construction (ports, the image's registry path, commit ids) put aside, so an
interrupted release can be compared with an uninterrupted one. :func:`publications` counts what
the servers were asked to publish. :func:`snapshot` is everything a refused command must leave
as it was: the clone, the remote, and every server's count of writes.
"""

from __future__ import annotations

__all__ = ["Publications", "compare", "end_state", "lock_left", "publications", "snapshot"]

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release_engine.config import Credentials, ReleaseConfig
from release_engine.context import ReleaseContext
from release_engine.remotes.announce import destination_key
from release_engine.remotes.mail import Mail
from release_engine.remotes.mastodon import account
from release_engine.remotes.registry.client import Registry
from release_engine.version import parse_version

from .world import World, git

_RELEASE_KEYS = ("tag_name", "name", "body", "draft", "prerelease")
_HOST = re.compile(r"127\.0\.0\.1:\d+(/[\w.-]+)?")


def _norm(world: World, text: str) -> str:
    if world.image:
        text = text.replace(world.image, "<image>")
    return _HOST.sub("<host>", text)


def _tree(world: World, ref: str) -> dict[str, str]:
    """path -> content of every file of *ref* on the remote, normalized."""
    listed = git(world.remote, "ls-tree", "-r", "--format=%(objectname) %(path)", ref)
    blobs = dict(line.split(" ", 1)[::-1] for line in listed.splitlines() if line)
    wanted = ("\n".join(blobs.values()) + "\n").encode()
    batch = subprocess.run(["git", "cat-file", "--batch"], cwd=world.remote, capture_output=True,
                           input=wanted, check=True).stdout  # fmt: skip
    contents, at = {}, 0
    for path, blob in blobs.items():
        header_end = batch.index(b"\n", at)
        size = int(batch[at:header_end].split()[2])
        data = batch[header_end + 1 : header_end + 1 + size]
        at = header_end + 2 + size
        contents[path] = (
            _norm(world, data.decode(errors="replace")) if b"127.0.0.1" in data else blob
        )
    return contents


def _record(world: World, message: str) -> str:
    """A record of what was sent, as the world shows it: which receivers it claims (sent, or
    marked pending by a run killed while sending: at most once, never sent again; the
    receivers count what they got), each webhook by place, not by its secret URL's hash."""
    body = message.partition("\n\n")[2]
    try:
        data = json.loads(body)
    except ValueError:
        return _norm(world, message)
    if "sent" in data:  # every channel: sent keys and the one pending
        hooks = _destinations(world)
        claimed = {*data["sent"], *([data["pending"]] if data.get("pending") else [])}
        return "told " + ", ".join(sorted(hooks.get(k, "<destination>") for k in claimed))
    return _norm(world, message)


def _destinations(world: World) -> dict[str, str]:
    """Each record key of this world's destinations (hashes of URLs, which name its ports),
    and the name it is compared by across worlds."""
    s = world.s
    found = {destination_key(s.slack.url): "<webhook>", account(s.mastodon.url).key:
             "<mastodon account>", destination_key(s.discord.url): "<discord webhook>",
             destination_key(s.teams.url): "<teams webhook>"}  # fmt: skip
    if s.mail is not None:  # the mail server's key names its port: asked of the channel
        config = ReleaseConfig("pkg", "0.1.0", smtp_host="127.0.0.1", smtp_port=s.mail.port,
                               smtp_starttls=False, email_to=("people@localhost",))  # fmt: skip
        ctx = ReleaseContext(world.root, parse_version("0.1.0"), config, Credentials())
        found |= {d.key: "<mail server>" for d in Mail().destinations(ctx)}
    return found


def registry(world: World) -> Registry | None:
    r = world.s.registry
    if r is None or not world.image:
        return None
    return Registry(world.image, tls_verify=False, username=r.username, password=r.password,
                    authfile=world.root / "outside-auth.json")  # fmt: skip


def lock_left(remote: Path) -> list[str]:
    """The remote release lock, if a run left it: every case ends with none (a run that was
    killed leaves its lock; the rerun that follows must take it over and end it)."""
    refs = git(remote, "for-each-ref", "--format=%(refname)", "refs/release/lock").split()
    return ["the remote lock refs/release/lock is left on the remote"] if refs else []


def end_state(world: World, tags: list[str]) -> dict[str, Any]:
    """The remote and the servers, read back from outside, after the releases *tags*."""
    remote = world.remote
    refs = git(remote, "for-each-ref", "--format=%(refname)").split()
    state: dict[str, Any] = {
        "refs": sorted(refs),
        "main": git(remote, "log", "--first-parent", "--format=%s", "main").splitlines(),
        "main_tree": _tree(world, "main"),
        "records": {
            r: _record(world, git(remote, "log", "-1", "--format=%B", r))
            for r in refs
            if r.startswith("refs/release/records/")
        },
    }
    for tag in tags:
        if f"refs/tags/{tag}" not in refs:
            continue
        state[f"{tag}:message"] = git(remote, "tag", "-l", "--format=%(contents)", tag)
        state[f"{tag}:tree"] = _tree(world, tag)
    s = world.s
    state["index"] = sorted(p.name for p in s.index.packages.iterdir())
    state["github"] = [
        {
            k: _norm(world, str(r.get(k)))
            for k in ("tag_name", "name", "body", "draft", "prerelease")
        }
        | {"assets": sorted(_norm(world, a["name"]) for a in r["assets"])}
        for r in s.github.releases()
    ]
    latest = s.github.state.latest_release() if s.github.releases() else None
    state["github_latest"] = latest.get("tag_name") if latest else None
    state["notifications"] = sorted(
        _norm(world, json.dumps(m.body.get("text", ""))) for m in s.slack.received
    )
    state["emails"] = sorted(str(m.message["Subject"]) for m in s.mail.delivered) if s.mail else []
    state["announcements"] = sorted(
        [_norm(world, m["content"]) for m in s.discord.received]
        + [_norm(world, m["status"]) for m in s.mastodon.received]
        + [
            _norm(world, m["attachments"][0]["content"]["body"][0]["text"])
            for m in s.teams.received
        ]
    )
    reg = registry(world)
    if reg is not None:
        tags = reg.tags()
        found = sorted(t for t in tags if not t.endswith(".sbom"))
        # the SBOM's tag names the image's digest, which differs between worlds
        sboms = sorted({"sha256-<digest>.sbom" for t in tags if t.endswith(".sbom")})
        state["image_tags"] = [*found, *sboms]
        state["image_digests_equal"] = {t: reg.digest(t) == reg.digest("latest") for t in found}
    return state


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The keys where two end states differ, each with a short why."""
    found = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        left, right = a.get(key), b.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            keys = sorted(k for k in set(left) | set(right) if left.get(k) != right.get(k))
            found.append(f"{key}: {', '.join(keys[:3])}")
        else:
            found.append(f"{key}: {str(left)[:80]} != {str(right)[:80]}")
    return found


@dataclass
class Publications:
    """What the servers published: the most times one file was stored, releases created,
    webhook messages, emails."""

    max_stores: int
    release_creations: int
    notifications: int
    emails: int
    announcements: int = 0  # Discord, Mastodon and Teams messages

    def doubled(self, expected: Publications) -> list[str]:
        found = []
        if self.max_stores > 1:
            found.append(f"a file stored {self.max_stores} times")
        for name in ("release_creations", "notifications", "emails", "announcements"):
            got, want = getattr(self, name), getattr(expected, name)
            if got > want:
                found.append(f"{got} {name.replace('_', ' ')} (uninterrupted: {want})")
        return found


def publications(world: World, *, created_by_fault: int = 0) -> Publications:
    """Counted on the servers. A release POST counts as a creation when GitHub answered 201 or
    a fault answered after carrying it out (*created_by_fault*)."""
    s = world.s
    posts = [e for e in s.github.exchanges if e.method == "POST"
             and e.path == f"/repos/{s.github.repository}/releases"]  # fmt: skip
    return Publications(
        max_stores=max(s.index.stored.values(), default=0),
        release_creations=sum(1 for e in posts if e.status == 201) + created_by_fault,
        notifications=len(s.slack.received),
        emails=len(s.mail.delivered) if s.mail else 0,
        announcements=sum(len(x.received) for x in (s.discord, s.mastodon, s.teams)),
    )


def snapshot(world: World, clone: Path | None, *, image: bool = False) -> dict[str, Any]:
    """Everything a refused command must leave as it was."""
    s = world.s
    snap: dict[str, Any] = {
        "remote": git(world.remote, "for-each-ref", "--format=%(refname) %(objectname)"),
        "index_uploads": sum(s.index.stored.values()),
        "github_writes": sum(1 for m, _ in s.github.requests if m != "GET"),
        "notifications": len(s.slack.received),
        "emails": len(s.mail.delivered) if s.mail else 0,
        "announcements": sum(len(x.received) for x in (s.discord, s.mastodon, s.teams)),
    }
    if clone is not None and (clone / ".git").is_dir():
        gitdir = clone / ".git"
        snap["clone_refs"] = git(clone, "for-each-ref", "--format=%(refname) %(objectname)",
                                 check=False)  # fmt: skip
        snap["clone_head"] = git(clone, "symbolic-ref", "-q", "HEAD", check=False) or git(
            clone, "rev-parse", "HEAD", check=False
        )
        snap["clone_status"] = git(clone, "status", "--porcelain", "--ignored", check=False)
        snap["clone_state"] = sorted(
            str(p.relative_to(gitdir)) for p in gitdir.glob("release/**/*")
        )
        snap["clone_ops"] = [n for n in ("MERGE_HEAD", "REVERT_HEAD", "CHERRY_PICK_HEAD")
                             if (gitdir / n).exists()]  # fmt: skip
    if image:
        reg = registry(world)
        snap["image_tags"] = sorted(reg.tags()) if reg is not None else []
    return snap
