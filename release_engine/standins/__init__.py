"""Local stand-ins for the outside world, used by rehearsals and tests."""
