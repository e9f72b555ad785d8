"""Counted nouns as people write them: "1 webhook", "2 webhooks", never "1 webhook(s)"."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``counted(1, "webhook")`` is ``1 webhook``; ``counted(2, "change")`` ``2 changes``."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
