"""The outside systems a release talks to, one module (or package) each."""
