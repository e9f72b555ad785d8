"""The tasks of ``tasks.py``, one module per topic, each task one call into the engine.

``release_engine.cli`` is the one door ``tasks.py`` and the tests go through: it re-exports
every command. A command module imports at its top only what can load before the early start
(``release.py``'s bump-my-version dry run); the engine, its adapters and the output (rich) load
in the command that uses them.
"""

from __future__ import annotations

__all__: list[str] = []
