"""one typing attempt in progress per person

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:40:00

Starts check for an attempt in progress before they insert theirs; two starts at the same
moment (two sittings, or a sitting and practice) each saw none and both inserted. This
partial unique index stops the second. If a database already holds such pairs the index
cannot be built: the upgrade stops and names them, for a trainer to finish or void them
(nothing here changes an exam result on its own).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

WHERE = sa.text("state = 'in_progress'")


def upgrade():
    doubles = op.get_bind().execute(sa.text(
        "SELECT user_id, COUNT(*) FROM ex_typing_attempts WHERE state = 'in_progress' "
        "GROUP BY user_id HAVING COUNT(*) > 1"
    )).all()
    if doubles:
        users = ", ".join(f"user {u} ({n} attempts)" for u, n in doubles)
        raise RuntimeError(
            "Some people have more than one typing attempt in progress: " + users
            + ". Finish them (flask --app wsgi close-overdue, or the attempts' pages) first."
        )
    with op.batch_alter_table('ex_typing_attempts', schema=None) as batch_op:
        batch_op.create_index(
            'uq_ex_typing_attempts_open_per_user', ['user_id'], unique=True,
            postgresql_where=WHERE, sqlite_where=WHERE,
        )


def downgrade():
    with op.batch_alter_table('ex_typing_attempts', schema=None) as batch_op:
        batch_op.drop_index('uq_ex_typing_attempts_open_per_user')
