"""Two-step import: the check saves nothing and reports; the confirm imports it, once."""

import base64
from datetime import timedelta

import pytest
from sqlalchemy import null, update

from lms import jobs
from lms.accounts.models import Role
from lms.audit.models import AuditEvent
from lms.extensions import db
from question_bank import import_preview, transfer
from question_bank.models import Category, Image, Question, Tag
from tests.helpers import check_upload, confirm_url, count, import_upload, text, zh
from tests.question_bank.test_authoring import png_bytes


def warning_file() -> bytes:
    """Return a Moodle XML file of three questions, two of them imported with a warning
    (options with negative marks), one with an image and tags."""
    png = base64.b64encode(png_bytes()).decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/top/业务知识/信用卡</text></category></question>
  <question type="multichoice">
    <name><text>挂失</text></name>
    <questiontext format="html"><text><![CDATA[客户来电挂失信用卡，首先应：<img src="@@PLUGINFILE@@/card.png">]]></text>
      <file name="card.png" path="/" encoding="base64">{png}</file></questiontext>
    <single>true</single>
    <answer fraction="100"><text>核实身份</text></answer>
    <answer fraction="-50"><text>直接挂失</text></answer>
    <answer fraction="-25"><text>询问消费</text></answer>
    <tags><tag><text>挂失</text></tag></tags>
  </question>
  <question type="multichoice">
    <name><text>可疑交易</text></name>
    <questiontext format="html"><text>以下哪些是可疑交易特征？</text></questiontext>
    <single>false</single>
    <answer fraction="50"><text>频繁大额现金</text></answer>
    <answer fraction="50"><text>分拆交易</text></answer>
    <answer fraction="-33.333"><text>工资代发</text></answer>
  </question>
  <question type="category"><category><text>$course$/top/风险合规</text></category></question>
  <question type="truefalse">
    <name><text>密码</text></name>
    <questiontext format="html"><text>客服可以索要客户密码。</text></questiontext>
    <answer fraction="0"><text>true</text></answer>
    <answer fraction="100"><text>false</text></answer>
  </question>
</quiz>
""".encode()


BAD_CSV = "题型,题干,答案\n单选题,题干,Z\n".encode()


def bank_counts() -> dict:
    """Return how many rows the bank's tables hold."""
    return {m.__name__: count(m) for m in (Question, Category, Tag, Image)}


def check_job(page) -> jobs.Job:
    """Return the checking job whose report ``page`` shows."""
    job_id = confirm_url(page).split("/")[3]
    return db.session.get(jobs.Job, job_id)


def test_check_leaves_the_bank_unchanged(trainer_client, make_question):
    make_question()
    before = bank_counts()
    audits = count(AuditEvent)
    page = check_upload(trainer_client, "bank.xml", warning_file())
    assert page.status_code == 200
    assert bank_counts() == before
    assert count(AuditEvent) == audits
    assert "3 道试题可以导入" in text(page)


def test_check_report_counts_by_category_and_type(trainer_client):
    page = text(check_upload(trainer_client, "bank.xml", warning_file()))
    assert 'id="import-summary"' in page
    assert "业务知识 / 信用卡" in page and "风险合规" in page
    assert page.count("<tr><td>业务知识 / 信用卡</td>") == 2  # single and multiple choice


def test_check_report_lists_warnings_per_question(trainer_client):
    page = text(check_upload(trainer_client, "bank.xml", warning_file()))
    table = page.split('id="import-warnings"')[1].split("</table>")[0]
    assert table.count("<tr><td>") == 2
    assert "第 1 题（挂失）" in table and "第 2 题（可疑交易）" in table
    assert "密码" not in table  # a question without warnings is not listed
    assert "-50%, -25%" in table and "-33.333%" in table
    assert "2 道试题导入时有改动" in page


def test_warnings_are_grouped_per_question_in_file_order():
    grouped = transfer.warnings_by_question([("第 2 题", "a"), ("第 1 题", "b"), ("第 2 题", "c")])
    assert grouped == [("第 2 题", ["a", "c"]), ("第 1 题", ["b"])]


def test_confirm_imports_exactly_the_checked_count(trainer_client):
    page = check_upload(trainer_client, "bank.xml", warning_file())
    assert "导入 3 道试题" in text(page)
    resp = trainer_client.submit(confirm_url(page), follow_redirects=True)
    result = text(resp)
    assert resp.status_code == 200
    assert "已导入 3 道试题。" in result
    assert 'id="import-warnings"' in result and "-33.333%" in result
    assert count(Question) == 3 and count(Image) == 1
    assert db.session.query(AuditEvent).filter_by(action="question.import").count() == 1


def test_confirm_is_not_done_twice(trainer_client):
    page = check_upload(trainer_client, "bank.xml", warning_file())
    url = confirm_url(page)
    first = trainer_client.submit(url)
    assert first.status_code == 302
    again = trainer_client.submit(url, follow_redirects=True)
    assert zh("This import was already confirmed; it is not done twice.") in text(again)
    assert count(Question) == 3
    assert db.session.query(jobs.Job).filter_by(kind="question_import").count() == 1


def test_a_lost_race_for_the_file_is_refused(trainer_client, trainer):
    """Two confirms both saw the preview ready; the second finds the file already taken."""
    page = check_upload(trainer_client, "bank.xml", warning_file())
    job = check_job(page)
    assert job.params is not None  # what the slower request read
    db.session.execute(
        update(jobs.Job).where(jobs.Job.id == job.id).values(params=null()),
        execution_options={"synchronize_session": False},
    )
    with pytest.raises(import_preview.PreviewClosed):
        import_preview.confirm(job, trainer)
    db.session.rollback()
    assert db.session.query(jobs.Job).filter_by(kind="question_import").count() == 0


def test_another_users_preview_is_not_found(trainer_client, make_user, login, client, app):
    page = check_upload(trainer_client, "bank.xml", warning_file())
    url = confirm_url(page)
    make_user(Role.TRAINER, username="other")
    other = app.test_client()
    login(other, "other")
    assert other.submit(url).status_code == 404
    assert other.submit(url.replace("/confirm", "/cancel")).status_code == 404
    assert other.get(url.rsplit("/", 2)[0].replace("/qb/import", "/jobs")).status_code == 404
    assert count(Question) == 0


def test_cancel_wipes_the_file_and_refuses_a_later_confirm(trainer_client):
    page = check_upload(trainer_client, "bank.xml", warning_file())
    url = confirm_url(page)
    job = check_job(page)
    assert job.params is not None
    resp = trainer_client.submit(url.replace("/confirm", "/cancel"), follow_redirects=True)
    assert zh("The upload was discarded; nothing was imported.") in text(resp)
    db.session.refresh(job)
    assert job.params is None
    resp = trainer_client.submit(url, follow_redirects=True)
    assert zh("This import was cancelled. Upload the file again to import it.") in text(resp)
    assert count(Question) == 0


def test_a_preview_expires_after_24_hours(trainer_client):
    page = check_upload(trainer_client, "bank.xml", warning_file())
    url = confirm_url(page)
    job = check_job(page)
    job.finished_at = job.finished_at - jobs.INPUT_KEPT - timedelta(minutes=1)
    db.session.commit()
    shown = text(trainer_client.get(f"/jobs/{job.id}"))
    message = zh("The checked file is kept for 24 hours only. Upload the file again to import it.")
    assert message in shown and "/confirm" not in shown
    db.session.refresh(job)
    assert job.params is None  # wiped when the page was opened
    resp = trainer_client.submit(url, follow_redirects=True)
    assert message in text(resp)
    assert count(Question) == 0


def test_a_file_with_errors_cannot_be_confirmed(trainer_client):
    page = check_upload(trainer_client, "bad.csv", BAD_CSV)
    shown = text(page)
    assert 'id="import-errors"' in shown and "/confirm" not in shown
    assert zh("Nothing can be imported: the file has %(n)d errors.", n=1) in shown
    job = db.session.query(jobs.Job).filter_by(kind=import_preview.CHECK_KIND).one()
    assert job.params is None  # a refused file is not kept
    resp = trainer_client.submit(f"/qb/import/{job.id}/confirm", follow_redirects=True)
    assert zh("This file was not checked successfully: nothing can be imported from it.") in text(
        resp
    )
    assert count(Question) == 0


def test_confirm_of_another_kind_of_job_is_not_found(trainer_client):
    resp = import_upload(trainer_client, "bank.xml", warning_file())
    import_job = db.session.query(jobs.Job).filter_by(kind="question_import").one()
    assert resp.status_code == 200
    assert trainer_client.submit(f"/qb/import/{import_job.id}/confirm").status_code == 404


def test_the_import_checks_again_and_stays_all_or_nothing(trainer_client, make_question):
    """The bank may change between check and confirm: the import job checks everything."""
    page = check_upload(trainer_client, "bank.xml", warning_file())
    job = check_job(page)
    # Swap the kept file for one that no longer passes (as if the rules had changed).
    job.params = {**job.params, "data": base64.b64encode(BAD_CSV).decode(), "filename": "x.csv"}
    db.session.commit()
    resp = trainer_client.submit(confirm_url(page), follow_redirects=True)
    assert 'id="import-errors"' in text(resp)
    assert count(Question) == 0


def test_confirm_without_csrf_token_is_refused(app, trainer_client):
    page = check_upload(trainer_client, "bank.xml", warning_file())
    resp = trainer_client.post(confirm_url(page))
    assert resp.status_code == 400
    assert count(Question) == 0


def test_cli_check_prints_the_report_and_saves_nothing(runner, app, tmp_path):
    path = tmp_path / "bank.xml"
    path.write_bytes(warning_file())
    result = runner.invoke(args=["import-questions", "--check", str(path)])
    assert result.exit_code == 0, result.output
    assert "注意 第 1 题（挂失）" in result.output and "可导入 3 道题" in result.output
    assert bank_counts() == {"Question": 0, "Category": 0, "Tag": 0, "Image": 0}


def test_cli_check_of_a_bad_file_fails(runner, app, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD_CSV)
    result = runner.invoke(args=["import-questions", "--check", str(path)])
    assert result.exit_code != 0 and "错误" in result.output
    assert count(Question) == 0
