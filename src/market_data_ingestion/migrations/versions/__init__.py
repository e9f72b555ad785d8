"""Alembic revision scripts, applied in order by ``market-data-ingestion db upgrade``."""
