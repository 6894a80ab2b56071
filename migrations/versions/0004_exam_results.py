"""exam results: settings frozen on attempts, result rule, candidate outcomes, state enums

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

GRADE_STATES = ('todo', 'complete', 'needsgrading', 'gradedright', 'gradedpartial', 'gradedwrong')


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade():
    with op.batch_alter_table('ex_sittings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result_rule', _enum('result_rule', 'highest', 'last'),
                                      nullable=False, server_default='highest'))

    with op.batch_alter_table('ex_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_limit_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pass_mark', sa.Numeric(precision=8, scale=2), nullable=True))
        batch_op.add_column(sa.Column('multiple_choice_rule',
                                      _enum('multiple_choice_rule', 'all_or_nothing', 'partial_half'),
                                      nullable=True))
        batch_op.add_column(sa.Column('review_policy',
                                      _enum('review_policy', 'score_only', 'after_close', 'after_submit'),
                                      nullable=True))
        batch_op.alter_column('finish_reason', existing_type=sa.String(length=16),
                              type_=_enum('finish_reason', 'submitted', 'timeout'),
                              existing_nullable=True)
    # Attempts taken before this revision keep the settings their paper has now.
    for column in ('time_limit_minutes', 'pass_mark', 'multiple_choice_rule', 'review_policy'):
        op.execute(
            f"UPDATE ex_attempts SET {column} = (SELECT p.{column} FROM ex_papers p "
            "JOIN ex_sittings s ON s.paper_id = p.id WHERE s.id = ex_attempts.sitting_id)"
        )
    with op.batch_alter_table('ex_attempts', schema=None) as batch_op:
        batch_op.alter_column('time_limit_minutes', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('pass_mark', existing_type=sa.Numeric(precision=8, scale=2),
                              nullable=False)
        batch_op.alter_column('multiple_choice_rule',
                              existing_type=_enum('multiple_choice_rule', 'all_or_nothing', 'partial_half'),
                              nullable=False)
        batch_op.alter_column('review_policy',
                              existing_type=_enum('review_policy', 'score_only', 'after_close', 'after_submit'),
                              nullable=False)

    with op.batch_alter_table('ex_attempt_items', schema=None) as batch_op:
        batch_op.alter_column('grade_state', existing_type=sa.String(length=16),
                              type_=_enum('grade_state', *GRADE_STATES), existing_nullable=False)
        batch_op.add_column(sa.Column('key_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ex_attempt_items_key_version_id_qb_question_versions'),
                                    'qb_question_versions', ['key_version_id'], ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('ex_candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', _enum('outcome', 'none', 'pending', 'passed', 'failed', 'absent'),
                                      nullable=False, server_default='none'))
        batch_op.add_column(sa.Column('result_attempt_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('result_score', sa.Numeric(precision=8, scale=2), nullable=True))
        batch_op.add_column(sa.Column('result_final_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ex_candidates_result_attempt_id_ex_attempts'),
                                    'ex_attempts', ['result_attempt_id'], ['id'], ondelete='SET NULL')
    _fill_outcomes()


def _fill_outcomes():
    """Give existing candidates the result of their counted attempt (highest score).

    Results stay provisional (no result_final_at): ``close-overdue`` makes those of closed
    sittings final, and announces them, the first time it runs.
    """
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT c.id, a.id, a.score, a.passed FROM ex_candidates c "
        "JOIN ex_attempts a ON a.sitting_id = c.sitting_id AND a.user_id = c.user_id "
        "WHERE a.state = 'finished' ORDER BY c.id, a.number"
    )).all()
    by_candidate = {}
    for cid, aid, score, passed in rows:
        by_candidate.setdefault(cid, []).append((aid, score, passed))
    for cid, attempts in by_candidate.items():
        if any(score is None for _a, score, _p in attempts):
            values = {'outcome': 'pending', 'aid': None, 'score': None}
        else:
            aid, score, passed = max(attempts, key=lambda a: a[1])
            values = {'outcome': 'passed' if passed else 'failed', 'aid': aid, 'score': score}
        conn.execute(sa.text(
            "UPDATE ex_candidates SET outcome = :outcome, result_attempt_id = :aid, "
            "result_score = :score WHERE id = :cid"
        ), {**values, 'cid': cid})


def downgrade():
    with op.batch_alter_table('ex_candidates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ex_candidates_result_attempt_id_ex_attempts'),
                                 type_='foreignkey')
        batch_op.drop_column('result_final_at')
        batch_op.drop_column('result_score')
        batch_op.drop_column('result_attempt_id')
        batch_op.drop_column('outcome')

    with op.batch_alter_table('ex_attempt_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ex_attempt_items_key_version_id_qb_question_versions'),
                                 type_='foreignkey')
        batch_op.drop_column('key_version_id')
        batch_op.alter_column('grade_state', existing_type=_enum('grade_state', *GRADE_STATES),
                              type_=sa.String(length=16), existing_nullable=False)

    with op.batch_alter_table('ex_attempts', schema=None) as batch_op:
        batch_op.alter_column('finish_reason', existing_type=_enum('finish_reason', 'submitted', 'timeout'),
                              type_=sa.String(length=16), existing_nullable=True)
        batch_op.drop_column('review_policy')
        batch_op.drop_column('multiple_choice_rule')
        batch_op.drop_column('pass_mark')
        batch_op.drop_column('time_limit_minutes')

    with op.batch_alter_table('ex_sittings', schema=None) as batch_op:
        batch_op.drop_column('result_rule')
