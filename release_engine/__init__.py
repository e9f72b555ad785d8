"""The release engine: every step of RELEASE_PROCESS.md, observed, planned, acted and verified."""

from __future__ import annotations

__all__: list[str] = []
