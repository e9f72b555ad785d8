"""Record where each bar came from in a new ``bars.source`` column.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-15 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bars") as batch:
        batch.add_column(sa.Column("source", sa.String(length=255), nullable=True))


def downgrade() -> None:
    # Batch mode recreates the table on SQLite and is a plain ALTER TABLE elsewhere.
    with op.batch_alter_table("bars") as batch:
        batch.drop_column("source")
