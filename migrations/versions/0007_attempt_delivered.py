"""attempts: when the exam page was first delivered (the clock starts then)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ex_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('ex_attempts', schema=None) as batch_op:
        batch_op.drop_column('delivered_at')
