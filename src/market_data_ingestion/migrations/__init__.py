"""Alembic migration environment shipped inside the package (see ``market_data_ingestion.db``)."""
