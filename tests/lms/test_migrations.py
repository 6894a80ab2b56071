"""The migrations build exactly the schema the models describe, on every database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from lms.extensions import db


def drop_everything():
    """Leave an empty database behind."""
    db.drop_all()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def test_migrations_match_the_models(app):
    drop_everything()
    upgrade()
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []


def test_migrations_downgrade_to_nothing_and_up_again(app):
    drop_everything()
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert "users" in inspect(db.engine).get_table_names()


def _row(table, **values):
    """Return ``values`` completed with a plain value for every other NOT NULL column."""
    import datetime as dt

    import sqlalchemy as sa

    out = dict(values)
    for col in table.columns:
        if col.name in out or col.nullable or col.primary_key or col.server_default is not None:
            continue
        t = col.type
        if isinstance(t, sa.Boolean):
            out[col.name] = False
        elif isinstance(t, sa.Integer | sa.Numeric):
            out[col.name] = 1
        elif isinstance(t, sa.DateTime):
            out[col.name] = dt.datetime(2026, 11, 30, 1, 0)
        elif isinstance(t, sa.JSON):
            out[col.name] = {}
        else:
            out[col.name] = "x"
    return out


def test_upgrading_an_exam_database_keeps_every_answer(app):
    """0004 rebuilds ex_attempts on SQLite: the items that point at it must survive."""
    import sqlalchemy as sa

    drop_everything()
    upgrade(revision="0003")
    meta = sa.MetaData()
    meta.reflect(db.engine)
    t = meta.tables
    with db.engine.begin() as conn:
        conn.execute(t["users"].insert(), _row(t["users"], id=1, username="a1"))
        conn.execute(t["qb_categories"].insert(), _row(t["qb_categories"], id=1, parent_id=None))
        conn.execute(
            t["qb_questions"].insert(),
            _row(t["qb_questions"], id=1, category_id=1, qtype="true_false", status="published"),
        )
        conn.execute(
            t["qb_question_versions"].insert(),
            _row(t["qb_question_versions"], id=1, question_id=1, number=1, qtype="true_false"),
        )
        conn.execute(
            t["ex_papers"].insert(),
            _row(
                t["ex_papers"],
                id=1,
                pass_mark=3,
                time_limit_minutes=45,
                review_policy="after_submit",
                multiple_choice_rule="partial_half",
            ),
        )
        conn.execute(
            t["ex_sittings"].insert(), _row(t["ex_sittings"], id=1, paper_id=1, kind="monthly")
        )
        conn.execute(
            t["ex_candidates"].insert(), _row(t["ex_candidates"], id=1, sitting_id=1, user_id=1)
        )
        conn.execute(
            t["ex_attempts"].insert(),
            _row(
                t["ex_attempts"],
                id=1,
                sitting_id=1,
                user_id=1,
                state="finished",
                finish_reason="submitted",
                score=4,
                passed=True,
            ),
        )
        conn.execute(
            t["ex_attempt_items"].insert(),
            _row(
                t["ex_attempt_items"],
                id=1,
                attempt_id=1,
                question_id=1,
                version_id=1,
                response=True,
                grade_state="gradedright",
            ),
        )
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ex_attempt_items")).scalar() == 1
        frozen = conn.execute(
            sa.text(
                "SELECT time_limit_minutes, pass_mark, review_policy, multiple_choice_rule "
                "FROM ex_attempts"
            )
        ).one()
        assert tuple(frozen) == (45, 3, "after_submit", "partial_half")
        outcome = conn.execute(
            sa.text("SELECT outcome, result_attempt_id FROM ex_candidates")
        ).one()
        assert tuple(outcome) == ("passed", 1)
    downgrade(revision="0003")
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ex_attempt_items")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM ex_attempts")).scalar() == 1


def test_two_typing_attempts_in_progress_of_one_person_stop_0009_by_name(app, capfd):
    """0009's unique index cannot be built over such a pair: the upgrade names them and
    changes nothing; once one is finished it goes through."""
    import pytest
    import sqlalchemy as sa

    drop_everything()
    upgrade(revision="0008")
    meta = sa.MetaData()
    meta.reflect(db.engine)
    t = meta.tables
    with db.engine.begin() as conn:
        conn.execute(t["users"].insert(), _row(t["users"], id=7, username="a7"))
        conn.execute(
            t["ex_typing_passages"].insert(),
            _row(t["ex_typing_passages"], id=1, kind="text", purpose="practice"),
        )
        for attempt_id in (1, 2):
            conn.execute(
                t["ex_typing_attempts"].insert(),
                _row(
                    t["ex_typing_attempts"],
                    id=attempt_id,
                    user_id=7,
                    passage_id=1,
                    state="in_progress",
                    review="none",
                ),
            )
    with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits 1
        upgrade()
    assert "more than one typing attempt in progress: user 7 (2 attempts)" in capfd.readouterr().err
    with db.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ex_typing_attempts")).scalar() == 2
        conn.execute(sa.text("UPDATE ex_typing_attempts SET state = 'finished' WHERE id = 1"))
    upgrade()
    names = {i["name"] for i in inspect(db.engine).get_indexes("ex_typing_attempts")}
    assert "uq_ex_typing_attempts_open_per_user" in names
