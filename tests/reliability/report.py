"""The harness's verdicts: one :class:`Case` per scenario, and the table they print as."""

from __future__ import annotations

__all__ = ["Case", "summary", "table"]

from dataclasses import dataclass, field


@dataclass
class Case:
    """One scenario's verdict. A column that does not apply to it stays ``None`` (``-``)."""

    scenario: str
    tried: int = 0  # kill points, faults, inputs or racers tried
    converged: bool | None = None
    equal: bool | None = None  # end state equal to the uninterrupted release's
    doubled: int = 0  # publications made twice
    side_effects: int = 0  # changes made by a command that was refused
    leaks: int = 0  # secrets found where they must not be
    problems: list[str] = field(default_factory=list)

    def fail(self, why: str) -> None:
        self.problems.append(why)

    @property
    def passed(self) -> bool:
        return (
            not self.problems
            and self.converged is not False
            and self.equal is not False
            and self.doubled == 0
            and self.side_effects == 0
            and self.leaks == 0
        )


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


def table(cases: list[Case]) -> str:
    """The table: scenario, tried, converged, end state equal, doubled, side effects, leaks,
    result; then one line per problem of each failed case."""
    head = ("scenario", "tried", "converged", "end state equal", "doubled publications",
            "side effects", "leaks", "result")  # fmt: skip
    rows = [
        (c.scenario, _cell(c.tried), _cell(c.converged), _cell(c.equal), _cell(c.doubled),
         _cell(c.side_effects), _cell(c.leaks), "pass" if c.passed else "FAIL")
        for c in cases
    ]  # fmt: skip
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), line]
    out += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    failed = [c for c in cases if not c.passed]
    if failed:
        out += ["", "failures:"]
        for c in failed:
            why = c.problems or ["a column above says why"]
            out += [f"  {c.scenario}: {p}" for p in why]
    return "\n".join(out)


def summary(cases: list[Case]) -> str:
    passed = sum(1 for c in cases if c.passed)
    return f"reliability: {passed} passed, {len(cases) - passed} failed"
