"""Tests of the payload package (market_data_ingestion) against a real SQLite database."""
