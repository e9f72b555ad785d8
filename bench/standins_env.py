"""Run a command with the rehearsal's stand-ins up, their URLs and credentials in its environment.

    python bench/standins_env.py [--no-image] bash bench/raw_release.sh

The same servers `inv release --rehearse` starts (release_engine.rehearsal.stand_ins), so
bench/raw_release.sh runs the raw commands against what the engine releases to. Exported:
BENCH_WORK (an empty directory), SOURCE_REPO, PYTHON, INDEX_URL, INDEX_SIMPLE_URL,
TWINE_USERNAME, TWINE_PASSWORD, GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN, WEBHOOK_URL,
SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD and, with a container engine, REGISTRY_URL,
REGISTRY_USERNAME, REGISTRY_PASSWORD, CONTAINER_ENGINE, BASE_IMAGE.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import needs_standins  # noqa: E402, F401  # the stand-ins' libraries, or one line

from release_engine.rehearsal import stand_ins  # noqa: E402
from release_engine.remotes.registry.container import BASE_IMAGE, detect_engine  # noqa: E402


def main() -> int:
    argv = sys.argv[1:]
    with_image = argv[:1] != ["--no-image"]
    argv = argv if with_image else argv[1:]
    with tempfile.TemporaryDirectory(prefix="bench-raw-") as tmp:
        work = Path(tmp)
        with stand_ins(work / "standins", without=set() if with_image else {"registry"}) as s:
            env = {
                **os.environ,
                "BENCH_WORK": str(work),
                "SOURCE_REPO": str(ROOT),
                "PYTHON": sys.executable,
                "INDEX_URL": s.index.upload_url,
                "INDEX_SIMPLE_URL": s.index.simple_url,
                "TWINE_USERNAME": s.index.username,
                "TWINE_PASSWORD": s.index.password,
                "GITHUB_API_URL": s.github.url,
                "GITHUB_REPOSITORY": s.github.repository,
                "GITHUB_TOKEN": s.github.token,
                "WEBHOOK_URL": s.slack.url,
            }
            if s.mail is not None:
                env |= {
                    "SMTP_PORT": str(s.mail.port),
                    "SMTP_USERNAME": s.mail.username,
                    "SMTP_PASSWORD": s.mail.password,
                }
            if s.registry is not None:
                env |= {
                    "REGISTRY_URL": s.registry.url,
                    "REGISTRY_USERNAME": s.registry.username,
                    "REGISTRY_PASSWORD": s.registry.password,
                    "CONTAINER_ENGINE": detect_engine() or "podman",
                    "BASE_IMAGE": BASE_IMAGE,
                }
            return subprocess.run(argv, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
