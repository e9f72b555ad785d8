"""Run the command-line interface: ``python -m market_data_ingestion``."""

from __future__ import annotations

from market_data_ingestion.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
