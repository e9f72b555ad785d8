"""One release at a time across clones: the lock on the remote, with real clones and processes.

Each holder that must be "another run" is another process: a run may take over a lock left by
its own process, so two locks taken in this test process would not stand for two runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from release_engine.errors import ConflictError
from release_engine.remote_lock import LOCK_REF, Holder, RemoteLock, read_holder
from release_engine.tools.git import Git
from tests.conftest import REPO, git

HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from release_engine.remote_lock import RemoteLock
    from release_engine.tools.git import Git
    lock = RemoteLock(Git(Path(sys.argv[1])), "origin", sys.argv[2])
    try:
        lock.acquire()
    except Exception as exc:
        print("refused:", exc, flush=True)
        sys.exit(3)
    print("held", flush=True)
    if sys.argv[3] == "wait":
        sys.stdin.read()  # until the test closes our stdin (or kills us)
        lock.release()
    """
)


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare remote with one commit and two clones of it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    (seed / "README").write_text("x\n")
    git(seed, "add", "README")
    git(seed, "commit", "-qm", "first")
    git(seed, "push", "-q", str(remote), "main")
    one, two = tmp_path / "one", tmp_path / "two"
    for clone in (one, two):
        git(tmp_path, "clone", "-q", str(remote), str(clone))
    return remote, one, two


def hold(
    clone: Path, what: str, *, wait: bool = True, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Another process, holding the lock for *what* until its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(clone), what, "wait" if wait else "exit"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_clone_is_refused_naming_the_holder_and_takes_over_once_it_is_killed(
    clones: tuple[Path, Path, Path],
) -> None:
    _remote, one, two = clones
    holder = hold(one, "release v0.2.0")
    try:
        lock = RemoteLock(Git(two), "origin", "release v0.2.0")
        with pytest.raises(ConflictError) as refused:
            lock.acquire()
        message = refused.value.message
        assert "another release holds the lock on origin: release v0.2.0 by" in message
        assert f"pid {holder.pid}" in message and "\n" not in message
        assert f"git push origin --delete {LOCK_REF}" in message
        with pytest.raises(ConflictError):
            lock.check()  # a dry run is refused the same way, reading only
    finally:
        holder.send_signal(signal.SIGKILL)  # killed: no chance to release its lock
        holder.wait()
    assert LOCK_REF in Git(two).remote_refs("origin")  # the dead run's lock is still there
    lock.acquire()  # same machine, the holder's process is gone: taken over
    found = read_holder(Git(one), "origin")
    assert found is not None and found[1] is not None and found[1].pid == os.getpid()
    lock.release()
    assert LOCK_REF not in Git(one).remote_refs("origin")


def test_a_killed_holder_left_unreaped_counts_as_gone(clones: tuple[Path, Path, Path]) -> None:
    """A run killed with its parent (``timeout --signal=KILL inv release``) stays a zombie
    where nothing reaps orphans; its pid still answers, but the lock is taken over."""
    _remote, one, two = clones
    holder = hold(one, "release v0.2.0")
    holder.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{holder.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline, "the killed holder never became a zombie"
        time.sleep(0.01)
    try:
        os.kill(holder.pid, 0)  # a zombie's pid answers: not what tells a live run
        RemoteLock(Git(two), "origin", "release v0.2.0").acquire()  # taken over
        found = read_holder(Git(one), "origin")
        assert found is not None and found[1] is not None and found[1].pid == os.getpid()
    finally:
        holder.wait()  # reaped only now


def test_a_lock_ends_with_its_run(clones: tuple[Path, Path, Path]) -> None:
    _remote, one, two = clones
    holder = hold(one, "release v0.2.0")
    assert holder.stdin is not None
    holder.stdin.close()  # the run ends normally: its lock goes with it
    assert holder.wait(timeout=30) == 0
    assert LOCK_REF not in Git(two).remote_refs("origin")
    RemoteLock(Git(two), "origin", "release v0.3.0").check()


def test_two_runs_racing_exactly_one_wins(clones: tuple[Path, Path, Path]) -> None:
    _remote, one, two = clones
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", HOLD, str(clone), f"release v0.2.0 from {clone.name}", "wait"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        for clone in (one, two)
    ]  # both start at once; the winner holds on (alive) until its stdin closes
    first = ["", ""]
    try:
        for i, run in enumerate(runs):
            assert run.stdout is not None
            first[i] = run.stdout.readline()  # "held", or "refused: …" from a run that exited
        found = read_holder(Git(one), "origin")  # while the winner still holds it
    finally:
        outputs = [
            line + run.communicate(timeout=60)[0] for line, run in zip(first, runs, strict=True)
        ]
    assert sorted(run.returncode for run in runs) == [0, 3], outputs
    assert found is not None and found[1] is not None
    winner = next(o for o in outputs if o.startswith("held"))
    loser = next(o for o in outputs if o.startswith("refused"))
    assert winner and found[1].what in loser and "another release holds the lock" in loser


def plant(clone: Path, holder: Holder | None, message: str | None = None) -> None:
    """Push a lock commit written by hand: another machine's, or not a lock at all."""
    tree = subprocess.run(
        ["git", "mktree"], cwd=clone, input="", capture_output=True, text=True, check=True
    ).stdout.strip()
    if message is None:
        assert holder is not None
        message = "release lock\n\n" + json.dumps(holder.__dict__)
    sha = git(clone, "commit-tree", tree, "-m", message)
    git(clone, "push", "-q", "origin", f"{sha}:{LOCK_REF}")


def elsewhere(what: str, *, expires: int, ci_run: str = "") -> Holder:
    return Holder(what, "ci", "runner-7", "another-boot", 4242, "1", ci_run, 0, expires)


def test_a_stale_lock_is_reported_with_the_command_that_breaks_it(
    clones: tuple[Path, Path, Path],
) -> None:
    _remote, one, two = clones
    plant(one, elsewhere("release v0.2.0", expires=int(time.time()) - 60))
    lock = RemoteLock(Git(two), "origin", "release v0.2.0")
    with pytest.raises(ConflictError) as stale:
        lock.acquire()
    assert stale.value.message.startswith("stale release lock on origin: release v0.2.0 by ci@")
    assert stale.value.exit_code == 3
    command = stale.value.message.rpartition("break the lock with: ")[2].split()
    subprocess.run(command, cwd=two, check=True, capture_output=True)  # the printed command
    lock.acquire()
    lock.release()


def test_a_live_lock_of_another_machine_is_refused_even_for_the_same_version(
    clones: tuple[Path, Path, Path],
) -> None:
    _remote, one, two = clones
    plant(one, elsewhere("release v0.2.0", expires=int(time.time()) + 3600))
    with pytest.raises(ConflictError, match=r"another release holds the lock.*runner-7 pid 4242"):
        RemoteLock(Git(two), "origin", "release v0.2.0").acquire()


def test_a_rerun_of_the_same_ci_run_takes_over_and_another_run_is_refused(
    clones: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _remote, one, two = clones
    plant(one, elsewhere("release v0.2.0", expires=int(time.time()) + 3600, ci_run="9001"))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_RUN_ID", "9002")
    with pytest.raises(ConflictError, match="CI run 9001"):
        RemoteLock(Git(two), "origin", "release v0.2.0").acquire()
    monkeypatch.setenv("GITHUB_RUN_ID", "9001")  # "Re-run failed jobs": the same run id
    lock = RemoteLock(Git(two), "origin", "release v0.2.0")
    lock.acquire()
    lock.release()
    assert LOCK_REF not in Git(one).remote_refs("origin")


def test_a_ref_there_that_is_not_a_lock_is_not_overwritten(
    clones: tuple[Path, Path, Path],
) -> None:
    remote, one, two = clones
    plant(one, None, message="something else")
    before = git(remote, "rev-parse", LOCK_REF)
    with pytest.raises(ConflictError, match="is not a release lock this engine wrote"):
        RemoteLock(Git(two), "origin", "release v0.2.0").acquire()
    assert git(remote, "rev-parse", LOCK_REF) == before


def test_release_removes_only_its_own_lock(clones: tuple[Path, Path, Path]) -> None:
    _remote, one, two = clones
    mine = RemoteLock(Git(one), "origin", "release v0.2.0")
    mine.acquire()
    # Someone broke our lock and another run took it: ending our run must not free theirs.
    git(two, "push", "-q", "origin", "--delete", LOCK_REF)
    theirs = hold(two, "release v0.3.0")
    try:
        mine.release()
        found = read_holder(Git(one), "origin")
        assert found is not None and found[1] is not None and found[1].what == "release v0.3.0"
    finally:
        assert theirs.stdin is not None
        theirs.stdin.close()
        theirs.wait(timeout=30)


@pytest.mark.e2e
def test_a_release_is_refused_up_front_while_another_clone_holds_the_lock(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    from release_engine.rehearsal import clone_for_rehearsal, stand_ins
    from release_engine.remotes.index import served_files
    from tests.engine.conftest import VERSION, Rehearsal

    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(source_repo, tmp_path)
        remote = tmp_path / "remote.git"
        other = tmp_path / "other"
        git(tmp_path, "clone", "-q", str(remote), str(other))
        holder = hold(other, f"release v{VERSION}")
        try:
            before = git(remote, "show-ref"), git(work, "show-ref")
            with pytest.raises(ConflictError) as refused:
                Rehearsal(work, remote, s).run(VERSION)
            assert refused.value.exit_code == 3  # refused before anything changed
            assert f"release v{VERSION} by" in refused.value.message
            assert f"pid {holder.pid}" in refused.value.message
            assert (git(remote, "show-ref"), git(work, "show-ref")) == before
            assert served_files(s.index.simple_url, "market-data-ingestion") == {}
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=30)
        Rehearsal(work, remote, s).run(VERSION)  # the other run is over: this one goes
        assert LOCK_REF not in git(remote, "show-ref")  # and its own lock is gone
        assert git(remote, "rev-parse", f"v{VERSION}^{{commit}}")


def test_a_repository_no_release_can_start_in_is_one_line(tmp_path: Path) -> None:
    from release_engine.engine import open_release
    from release_engine.errors import ConfigError, ReleaseError
    from release_engine.version import parse_version

    repo = tmp_path / "empty"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    (repo / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    version = parse_version("0.2.0")
    with pytest.raises(ConfigError) as empty:
        open_release(repo, version)
    assert empty.value.message.startswith(f"the repository at {repo} has no commits yet")
    git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    with pytest.raises(ConfigError) as no_remote:
        open_release(repo, version)
    assert no_remote.value.message.startswith("this clone has no remote named 'origin'")
    git(repo, "remote", "add", "origin", str(tmp_path / "nowhere.git"))
    ctx = open_release(repo, version)
    with pytest.raises(ReleaseError) as unreadable:
        RemoteLock(ctx.git, "origin", "release v0.2.0").check()
    message = unreadable.value.message
    assert message.startswith("cannot read the remote 'origin': ")
    assert "does not appear to be a git repository" in message and "\n" not in message
    for error in (empty.value, no_remote.value, unreadable.value):
        assert error.exit_code == 3


def test_status_shows_who_holds_the_lock(
    source_repo: Path, tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema

    from release_engine.cli import status_command
    from release_engine.redact import Secrets
    from release_engine.rehearsal import clone_for_rehearsal
    from tests.engine.conftest import VERSION

    work = clone_for_rehearsal(source_repo, tmp_path)
    quiet = ["index_simple_url=http://127.0.0.1:9/simple/", "image=", "github_repository="]
    status_command(work, VERSION, secrets=Secrets(), as_json=True, overrides=quiet)
    assert json.loads(capsys.readouterr().out)["lock"] is None

    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(other))
    plant(other, elsewhere(f"release v{VERSION}", expires=int(time.time()) - 1))
    status_command(work, VERSION, secrets=Secrets(), as_json=True, overrides=quiet)
    data = json.loads(capsys.readouterr().out)
    schema = json.loads((REPO / "docs" / "release-report.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["lock"]["what"] == f"release v{VERSION}" and data["lock"]["stale"] is True
    assert "runner-7 pid 4242" in data["lock"]["holder"]
    status_command(work, VERSION, secrets=Secrets(), overrides=quiet)
    shown = capsys.readouterr().out
    assert f"release lock: held, release v{VERSION} by ci@runner-7 pid 4242" in shown
    assert "(stale: past its expiry)" in shown


def test_records_refuse_a_foreign_ref_and_a_record_changed_meanwhile(
    clones: tuple[Path, Path, Path],
) -> None:
    from release_engine.errors import ReleaseError
    from release_engine.tools.records import Records

    remote, one, two = clones
    mine, theirs = Records(Git(one), "origin", "v0.2.0"), Records(Git(two), "origin", "v0.2.0")
    assert mine.read("notify") is None
    theirs.write("notify", {"sent": ["a"], "pending": None})
    with pytest.raises(ReleaseError, match="changed on origin while this run was writing it"):
        mine.write("notify", {"sent": [], "pending": "b"})  # leased on "none there": refused
    assert mine.read("notify") == {"sent": ["a"], "pending": None}  # theirs stands
    mine.write("notify", {"sent": ["a", "b"], "pending": None})  # on what it read: accepted
    assert theirs.read("notify") == {"sent": ["a", "b"], "pending": None}

    plant(one, None, message="not a record")
    git(remote, "update-ref", mine.ref("email"), LOCK_REF)  # a commit that is no record
    with pytest.raises(ReleaseError, match="is not a record this engine wrote"):
        theirs.read("email")
