"""Meta-tests of the pre-release matrix (``noxfile.py`` and ``release_engine.prerelease``)."""
