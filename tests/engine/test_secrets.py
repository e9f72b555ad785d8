"""Secrets never appear in any output: normal, verbose, dry run, JSON, errors."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import replace

import pytest

from release_engine.context import Options
from release_engine.engine import release
from release_engine.errors import CommandError, ReleaseError
from release_engine.output import ConsoleReporter, emit_json, print_report, print_steps
from release_engine.proc import run
from release_engine.redact import MASK, redact, register_secret
from release_engine.rehearsal import rehearsal_context
from tests.engine.conftest import Rehearsal


def test_registered_secrets_and_url_passwords_are_masked() -> None:
    register_secret("s3cr3t-token-value")
    register_secret("https://hooks.example/services/T000/B000/XXXXXXXXXXXX")
    text = redact(
        "token s3cr3t-token-value; https://user:pa55w0rd@index.example/simple/; "
        "hook https://hooks.example/services/T000/B000/XXXXXXXXXXXX"
    )
    assert "s3cr3t-token-value" not in text
    assert "pa55w0rd" not in text
    assert "XXXXXXXXXXXX" not in text
    assert f"https://user:{MASK}@index.example" in text


def test_a_failed_command_never_shows_a_secret_it_was_given() -> None:
    register_secret("hunter2-hunter2")
    with pytest.raises(CommandError) as exc:
        run(["sh", "-c", "echo using hunter2-hunter2 >&2; exit 3", "hunter2-hunter2"])
    assert "hunter2-hunter2" not in str(exc.value)
    assert MASK in str(exc.value)


@pytest.mark.e2e
def test_no_secret_in_any_output_of_a_whole_rehearsal(
    rehearsal: Rehearsal,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = rehearsal.s
    secrets = [s.github.token, s.index.password, s.sink.url, s.sink.url.rsplit("/", 1)[-1]]
    if s.registry is not None:
        secrets.append(s.registry.password)
    caplog.set_level(logging.DEBUG)  # verbose: every command, PyGithub's and urllib3's logs
    ctx = rehearsal_context(rehearsal.work, "0.2.0", s, options=Options())
    dry = release(ctx, ConsoleReporter(), dry_run=True)
    report = release(rehearsal_context(rehearsal.work, "0.2.0", s), ConsoleReporter())
    buffer = io.StringIO()
    emit_json(report.as_dict(), buffer)
    print_report(report.as_dict(), buffer)
    print_steps(report.steps + dry.steps, "all", buffer)
    # An error path too: a wrong token makes GitHub answer 401 during preflight.
    bad = rehearsal_context(rehearsal.work, "0.3.0", s)
    bad.credentials = replace(bad.credentials, github_token="ghp_wrongwrongwrongwrong")
    from release_engine.tools.github import GitHubClient

    bad.github = GitHubClient(s.github.url, s.github.repository, "ghp_wrongwrongwrongwrong")
    with pytest.raises(ReleaseError) as exc:
        release(bad, ConsoleReporter())
    captured = capsys.readouterr()
    everything = "\n".join(
        [
            captured.out,
            captured.err,
            caplog.text,
            buffer.getvalue(),
            str(exc.value),
            json.dumps(report.as_dict(), default=str),
        ]
    )
    assert "401" in str(exc.value) or "Bad credentials" in str(exc.value)
    assert "would run" in everything and "twine upload" in everything
    for secret in [*secrets, "ghp_wrongwrongwrongwrong"]:
        assert secret not in everything
