"""Domain errors. ``str(error)`` is the one line the user reads: what is wrong, what to do."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CommandError",
    "ConfigError",
    "ConflictError",
    "MalformedConfigError",
    "MissingFlagError",
    "PreflightError",
    "ReleaseError",
    "StandInError",
    "UsageError",
    "VerificationError",
]


class ReleaseError(Exception):
    """Base class of every error the release engine raises on purpose.

    :attr:`resume` and :attr:`step` are set by the executor when the error happened while a
    step acted: the sentence that says how to finish the release is then part of the message,
    and :attr:`step` names the step that failed (``inv release --json`` reports it).
    """

    resume: str = ""
    step: str = ""

    @property
    def exit_code(self) -> int:
        """1: failed while the release was being made (run the same command to resume);
        3: refused before anything was changed (a precondition, the configuration, a conflict
        seen first). :class:`UsageError` is 2; :class:`VerificationError` always 1."""
        return 1 if self.step else 3

    @property
    def message(self) -> str:
        """What went wrong, without the resume sentence."""
        return super().__str__()

    def __str__(self) -> str:
        return f"{self.message}\n{self.resume}" if self.resume else self.message


class UsageError(ReleaseError):
    """Bad input on the command line (a malformed version, a flag that makes no sense)."""

    @property
    def exit_code(self) -> int:
        return 2


class MissingFlagError(UsageError):
    """A required flag was not given: the edge shows the task's usage with the one line."""


class ConfigError(ReleaseError):
    """``pyproject.toml`` is missing something the engine needs, or holds a bad value."""


class MalformedConfigError(ConfigError):
    """``pyproject.toml`` says something the schema refuses (a typo, a wrong type): bad input."""

    @property
    def exit_code(self) -> int:
        return 2


class CommandError(ReleaseError):
    """A subprocess failed. Carries the (redacted) command and the tail of its output."""

    def __init__(self, args: Sequence[str], returncode: int, output: str) -> None:
        self.args_ = list(args)
        self.returncode = returncode
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-15:])  # redacted where it is printed
        super().__init__(
            f"command failed with exit code {returncode}: {' '.join(self.args_)}"
            + (f"\n{tail}" if tail else "")
        )


class PreflightError(ReleaseError):
    """One or more preconditions do not hold; nothing was changed."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"preflight failed, nothing was changed: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = (
                f"preflight failed with {len(self.problems)} problems, nothing was changed:\n"
                + lines
            )
        super().__init__(message)


class ConflictError(ReleaseError):
    """The world holds something for this release that the engine did not make."""


class VerificationError(ReleaseError):
    """After acting, a step is still not observed as done."""

    @property
    def exit_code(self) -> int:
        return 1


class StandInError(ReleaseError):
    """A rehearsal stand-in (index, registry, GitHub API) could not be started."""
