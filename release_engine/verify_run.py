"""Run what was published, as the release process's "monitor for issues in production" starts.

- The wheel the index serves (the very bytes :mod:`release_engine.verify` checked) installed
  into a fresh virtual environment with pip (its dependencies from the package index pip is
  configured with): ``market-data-ingestion --version`` must print the released version, and
  the sample-data ingest must store bars (``db upgrade``, ``ingest --sample``, ``symbols``).
  The environment is made without pip of its own and the engine's pip installs into it
  (``pip --python``); nothing is compiled ahead, and the four commands may write the bytecode
  of what they import (even where ``PYTHONDONTWRITEBYTECODE`` is set: the environment is
  thrown away). Measured on a 2-core machine: 7 s of CPU, where ``python -m venv`` (which
  installs and compiles pip) and a compiling ``pip install`` took 16 s.
- The image the registry serves, started (pulled first on a machine that lacks it): its
  database migrated, ``/health`` must answer 200 and ``/version`` the released version,
  asked from inside the container (no port is published on the machine).

Each function returns its problems, one line each.
"""

from __future__ import annotations

__all__ = ["run_image", "run_wheel"]

import importlib.util
import json
import sys
import time
from pathlib import Path

from .errors import CommandError
from .proc import Command, run
from .remotes.registry.container import ContainerEngine

_PROBE = """
import json, sys, time, urllib.error, urllib.request
def get(path):
    with urllib.request.urlopen("http://127.0.0.1:8000" + path, timeout=2) as answer:
        return answer.status, json.loads(answer.read())
for _ in range(120):
    try:
        status, health = get("/health")
        print(json.dumps({"health": status, "version": get("/version")[1].get("version")}))
        sys.exit(0)
    except urllib.error.HTTPError as exc:
        if exc.code != 503:
            print(json.dumps({"health": exc.code})); sys.exit(0)
    except OSError:
        pass
    time.sleep(0.25)
print(json.dumps({"health": None})); sys.exit(0)
"""


def run_wheel(wheel: Path, package: str, version: str, workdir: Path) -> list[str]:
    """Install *wheel* into a fresh venv under *workdir*; its version and sample ingest."""
    venv = workdir / "venv"
    python = venv / "bin" / "python"
    if importlib.util.find_spec("pip") is None:  # a dependency of the release group
        return [f"{wheel.name} was not run: no pip beside the engine ({sys.executable})"]
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=300)
    pip = [sys.executable, "-m", "pip", "--python", str(python)]  # the engine's, for the venv
    try:
        run([*pip, "install", "--quiet", "--no-compile", str(wheel)], timeout=900)
    except CommandError as exc:
        return [f"{wheel.name} does not install into a fresh venv: {str(exc)[:200]}"]
    exe = str(venv / "bin" / package)
    db = workdir / "verify.sqlite3"
    env = {
        "MDI_DB_PATH": str(db),
        "MDI_DATABASE_URL": f"sqlite:///{db}",
        "PYTHONDONTWRITEBYTECODE": "",  # empty is unset: the first command's imports are kept
    }

    def cli(*args: str) -> tuple[int, str]:
        done = run([exe, *args], env=env, check=False, timeout=300, record=False)
        tail = (done.stderr.strip().splitlines() or [""])[-1][:200]
        return done.returncode, done.stdout if done.returncode == 0 else tail

    problems = []
    shown = cli("--version")[1].strip()
    if shown.split()[-1:] != [version]:
        problems.append(f"the installed {wheel.name}: --version printed {shown!r}, not {version}")
    for args in (["db", "upgrade"], ["ingest", "--sample"]):
        code, said = cli(*args)
        if code != 0:
            problems.append(f"the installed {wheel.name}: `{' '.join(args)}` failed: {said}")
            return problems
    if not cli("symbols")[1].strip():
        problems.append(f"the installed {wheel.name}: the sample ingest stored no symbol")
    return problems


def run_image(
    engine: ContainerEngine,
    ref: str,
    version: str,
    *,
    tls_verify: bool = True,
    authfile: Path | None = None,
    pass_fds: tuple[int, ...] = (),
) -> list[str]:
    """Start the image *ref*; its ``/health`` and ``/version``, asked from inside."""
    if engine.name == "buildah":
        return [f"buildah cannot run the service of {ref}: install podman or docker"]
    if engine.inspect(ref) is None and engine.name == "podman":
        login = ["--authfile", str(authfile)] if authfile is not None else []
        pull = ["podman", "pull", "--quiet", f"--tls-verify={str(tls_verify).lower()}", *login]
        run(Command.of(*pull, ref, timeout=900, pass_fds=pass_fds))
    name = f"mdi-verify-{time.time_ns()}"
    container = engine.run(ref, detach=True, name=name).strip()
    try:
        engine.exec(container, ["market-data-ingestion", "db", "upgrade"])
        answer = json.loads(engine.exec(container, ["python3", "-c", _PROBE]).strip())
    except (CommandError, ValueError) as exc:
        return [f"{ref}: the service did not start: {str(exc)[:200]}"]
    finally:
        engine.remove_container(container)
    problems = []
    if answer.get("health") != 200:
        problems.append(f"{ref}: /health answered {answer.get('health')}, not 200")
    elif answer.get("version") != version:
        problems.append(f"{ref}: /version answered {answer.get('version')!r}, not {version}")
    return problems
