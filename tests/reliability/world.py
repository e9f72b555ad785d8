"""One world: a bare git remote and every stand-in, and ``inv`` run against them for real.

The stand-ins (package index, GitHub API, webhook sink, SMTP server, container registry) live in
this process; every ``inv`` is a separate process in a process group of its own, so a
``SIGKILL`` of that group ends the release and all its children (git, build, twine, podman)
while the servers, and what they recorded, outlive it.
"""

from __future__ import annotations

__all__ = ["Run", "World", "git"]

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from release_engine.config import load_config
from release_engine.rehearsal import StandIns, stand_ins
from release_engine.remotes.github.remote import seed_green

from .relay import Relay

if TYPE_CHECKING:
    from release_engine.standins.registry import RegistryStandIn

CREDENTIAL_ENV = (
    "GITHUB_TOKEN", "GH_TOKEN", "TWINE_USERNAME", "TWINE_PASSWORD", "REGISTRY_USERNAME",
    "REGISTRY_PASSWORD", "RELEASE_NOTIFY_WEBHOOKS", "SMTP_USERNAME", "SMTP_PASSWORD",
    "RELEASE_DISCORD_WEBHOOKS", "MASTODON_ACCESS_TOKEN", "RELEASE_TEAMS_WEBHOOKS",
)  # fmt: skip
IMAGE_NAME = "market-data-ingestion"
#: How long one run may take before it is killed as hung: image builds on a loaded machine
#: take minutes. ``RELIABILITY_RUN_TIMEOUT`` overrides it.
RUN_TIMEOUT = float(os.environ.get("RELIABILITY_RUN_TIMEOUT", "900"))


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """git's stdout, stripped (never with the harness's hooks)."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {cwd}: {proc.stderr.strip()}")
    return proc.stdout.strip()


@dataclass
class Run:
    """One ``inv`` process: its arguments, exit code and everything it printed."""

    argv: list[str]
    cwd: Path
    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    killed_at: str = ""
    cmdlines: list[str] = field(default_factory=list)  # sampled from /proc while it ran

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def last_line(self) -> str:
        """The last line on stderr, or why the harness killed the run."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        if self.killed_at.startswith("timeout"):
            return f"killed by the harness: {self.killed_at}"
        return lines[-1] if lines else ""


class World:
    """A bare remote made from *source*, the stand-ins, and clones of the remote."""

    def __init__(
        self, root: Path, source: Path, registry: RegistryStandIn | None, *, relays: bool = False
    ) -> None:
        self.root = root
        self._relays = relays
        self.index_relay: Relay | None = None
        self.registry_relay: Relay | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        self.source = source
        self._registry = registry
        self._stack = ExitStack()
        self.remote = root / "remote.git"
        self.runs: list[Run] = []
        self._logs = itertools.count(1)
        self.clones: list[Path] = []
        self.s: StandIns

    def __enter__(self) -> World:
        namespace = self.root.name.replace("_", "-") + "/"
        self.s = self._stack.enter_context(
            stand_ins(
                self.root / "standins",
                given={"registry": self._registry},
                without=set() if self._registry is not None else {"registry"},
                namespace=namespace,
            )
        )
        subprocess.run(["git", "clone", "-q", "--bare", "--no-local", str(self.source),
                        str(self.remote)], check=True)  # fmt: skip
        if self._relays:  # servers that can go down: the index, and the registry's host
            self.index_relay = Relay(self.s.index.port)
            self._stack.callback(self.index_relay.stop)
            if self.s.registry is not None:
                self.registry_relay = Relay(int(self.s.registry.url.rsplit(":", 1)[1]))
                self._stack.callback(self.registry_relay.stop)
        self.s.github.attach_git(self.remote)
        self.seed_green(git(self.remote, "rev-parse", "main"))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def seed_green(self, sha: str) -> None:
        """GitHub says of *sha*: CI green, reached main through an approved pull request."""
        seed_green(self.s.github, self.remote, ref=sha)

    # --- clones -----------------------------------------------------------------------------
    def clone(self, name: str = "") -> Path:
        """A fresh clone of the remote on main: an empty state directory, nothing built."""
        path = self.root / (name or f"clone{len(self.clones) + 1}")
        shutil.rmtree(path, ignore_errors=True)
        git(self.root, "clone", "-q", "--branch", "main", str(self.remote), str(path))
        git(path, "config", "user.email", "reliability@localhost")
        git(path, "config", "user.name", "Reliability")
        self.clones.append(path)
        return path

    @property
    def image(self) -> str:
        if self.s.registry is None:
            return ""
        host = self.s.registry.url
        if self.registry_relay is not None:
            host = f"127.0.0.1:{self.registry_relay.port}"
        return f"{host}/{self.s.namespace}{IMAGE_NAME}"

    def secrets(self) -> list[str]:
        """Every credential planted in this world (each a random string)."""
        s = self.s
        found = [s.github.token, s.index.password, s.slack.path.rsplit("/", 1)[-1]]
        found += [s.discord.token, s.mastodon.token, s.teams.signature]
        if s.mail is not None:
            found.append(s.mail.password)
        if s.registry is not None:
            found.append(s.registry.password)
        return found

    def env(self, **changes: str) -> dict[str, str]:
        """The environment of a release here: this world's credentials, nobody else's."""
        env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENV}
        env.pop("PYTHONPATH", None)
        s = self.s
        env |= {
            "GITHUB_TOKEN": s.github.token,
            "TWINE_USERNAME": s.index.username,
            "TWINE_PASSWORD": s.index.password,
            "RELEASE_NOTIFY_WEBHOOKS": s.slack.url,
            "RELEASE_DISCORD_WEBHOOKS": s.discord.url,
            "MASTODON_ACCESS_TOKEN": s.mastodon.token,
            "RELEASE_TEAMS_WEBHOOKS": s.teams.url,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if s.mail is not None:
            env |= {"SMTP_USERNAME": s.mail.username, "SMTP_PASSWORD": s.mail.password}
        if s.registry is not None:
            env |= {"REGISTRY_USERNAME": s.registry.username,
                    "REGISTRY_PASSWORD": s.registry.password}  # fmt: skip
        env.update(changes)
        return env

    def flags(self, *, image: bool = True) -> list[str]:
        """``--set`` flags pointing a release at this world's stand-ins."""
        s = self.s
        index = s.index.url
        if self.index_relay is not None:
            index = f"http://127.0.0.1:{self.index_relay.port}/"
        sets = [
            "remote=origin",
            f"index_url={index}",
            f"index_simple_url={index}simple/",
            f"github_repository={s.github.repository}",
            f"github_api_url={s.github.url}",
            f"image={self.image if image else ''}",
            f"mastodon_url={s.mastodon.url}",
        ]
        if image and s.registry is not None:
            sets.append("registry_tls_verify=false")
            base = load_config(self.source).rehearsal_base_image
            if base:
                sets.append(f"base_image={base}")
        if s.mail is not None:
            sets += ["smtp_host=127.0.0.1", f"smtp_port={s.mail.port}", "smtp_starttls=false",
                     "email_from=release@localhost", "email_to=people@localhost"]  # fmt: skip
        return [word for value in sets for word in ("--set", value)]

    # --- running inv ------------------------------------------------------------------------
    def start(self, cwd: Path, args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        n = next(self._logs)
        out, err = (logs / f"{n}.out").open("w+"), (logs / f"{n}.err").open("w+")
        argv = ["inv", *args]
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=err,
            stdin=subprocess.DEVNULL, text=True, start_new_session=True,
        )  # fmt: skip
        proc._reliability_logs = (out, err)  # type: ignore[attr-defined]
        return proc

    def run(
        self,
        cwd: Path,
        args: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        kill_when: Iterator[str] | None = None,
        timeout: float = RUN_TIMEOUT,
    ) -> Run:
        """Run ``inv ARGS`` in *cwd* to its end, or until *kill_when* yields the name of the
        point it reached: then SIGKILL its whole process group."""
        return self.race([(cwd, args, env or self.env())], kill_when=kill_when, timeout=timeout)[0]

    def race(
        self,
        jobs: Sequence[tuple[Path, Sequence[str], dict[str, str]]],
        *,
        kill_when: Iterator[str] | None = None,
        timeout: float = RUN_TIMEOUT,
    ) -> list[Run]:
        """Start every job at once (cwd, args, env) and wait for them all."""
        began = time.monotonic()
        records = [Run(["inv", *a], cwd) for cwd, a, _ in jobs]
        procs = [self.start(cwd, a, env) for cwd, a, env in jobs]
        try:
            while any(p.poll() is None for p in procs):
                for proc, record in zip(procs, records, strict=True):
                    if proc.poll() is None:
                        record.cmdlines.extend(_cmdlines(proc.pid) - set(record.cmdlines))
                reached = next(kill_when, "") if kill_when is not None else ""
                late = time.monotonic() - began > timeout
                if reached or late:
                    for proc, record in zip(procs, records, strict=True):
                        record.killed_at = reached or f"timeout after {timeout:.0f} s"
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(proc.pid, signal.SIGKILL)
                    break
                time.sleep(0.05)
        finally:
            for proc in procs:  # nothing of a run survives it, whatever happened
                proc.wait()
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
        for proc, record in zip(procs, records, strict=True):
            record.code = proc.returncode
            out, err = proc._reliability_logs  # type: ignore[attr-defined]
            for handle in (out, err):
                handle.seek(0)
            record.stdout, record.stderr = out.read(), err.read()
            out.close()
            err.close()
            record.seconds = time.monotonic() - began
        self.runs.extend(records)
        return records


def _cmdlines(pgid: int) -> set[str]:
    """The command lines of every process in process group *pgid* right now."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            found.add(line.decode(errors="replace"))
        except (OSError, ValueError, IndexError):
            continue
    return found
