"""The logic of ``noxfile.py``, the pre-release matrix of the release process's "Testing
Releases" (docs/RELEASING.md):
:mod:`.matrix` finds the wheel ``nox -s build`` made, runs the ``checklist`` sessions in nested
nox processes, sums them up and records the green run that the release preflight reads;
:mod:`.image` builds the container image from that wheel and probes it; :mod:`.upgrade` installs
the previous release with its data and the new wheel over it. The noxfile only parses, logs and
calls in here, and turns the :class:`~release_engine.errors.ReleaseError` these raise into one
``session.error`` line.
"""

from __future__ import annotations

__all__: list[str] = []
