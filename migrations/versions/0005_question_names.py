"""question names (Moodle's question name, searchable)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qb_questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=255), nullable=False,
                                      server_default=''))


def downgrade():
    with op.batch_alter_table('qb_questions', schema=None) as batch_op:
        batch_op.drop_column('name')
