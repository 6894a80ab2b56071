"""save digest on attempts (a retried save is recognised, not refused as stale)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ex_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('save_digest', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('ex_attempts', schema=None) as batch_op:
        batch_op.drop_column('save_digest')
