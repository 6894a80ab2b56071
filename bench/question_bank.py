"""Benchmark the question bank at 10,000 questions.

python -m bench.question_bank [--json PATH] [--questions N] [--database URL]

Measures importing N questions from an .xlsx file (the whole job: reading, checking,
saving) and then the trainer's list page, a Chinese text search and a filtered list on the
resulting bank, through the real app on SQLite (or the given database).
"""

import os
import random
import re
import tempfile
import time

from bench._common import parser, report, summarise, timed
from bench.exams import recreate_tables

TOPICS = [
    "信用卡挂失",
    "账单分期",
    "反洗钱",
    "客户身份核实",
    "投诉处理",
    "网银转账",
    "个人贷款",
    "借记卡冻结",
    "应急处置",
    "服务礼仪",
    "密码重置",
    "跨行汇款",
]
VERBS = ["应当首先", "不得", "需要及时", "可以", "必须"]


def make_bank(n: int):
    """Return N varied questions in the plain form."""
    from question_bank.interchange import QuestionData

    rnd = random.Random(95533)
    out = []
    for i in range(n):
        topic = rnd.choice(TOPICS)
        stem = f"第{i}题：办理{topic}业务时，客服代表{rnd.choice(VERBS)}做什么？（情形{i % 97}）"
        kind = i % 5
        if kind in (0, 1):
            opts = [{"key": str(k), "html": f"{topic}做法{k}-{i}"} for k in range(1, 5)]
            body = {"options": opts, "correct": ["2"] if kind == 0 else ["1", "3"]}
            qtype = "single_choice" if kind == 0 else "multiple_choice"
        elif kind == 2:
            qtype, body = "true_false", {"correct": bool(i % 2)}
        elif kind == 3:
            qtype, body = "fill_blank", {"blanks": [["24", "二十四"]]}
            stem += "时限为____小时。"
        else:
            qtype, body = "short_answer", {"reference": f"<p>{topic}要点</p>", "rubric": ""}
        out.append(
            QuestionData(
                qtype=qtype,
                stem=stem,
                body=body,
                category_path=["业务知识", topic, f"子类{i % 7}"],
                explanation="解析",
                difficulty=1 + i % 5,
                tags=[topic, f"标签{i % 30}"],
                status="published",
            )
        )
    return out


def main() -> None:
    """Run the benchmark."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=10_000)
    p.add_argument("--requests", type=int, default=30)
    p.add_argument("--database", default=None)
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-qb-")
    os.environ["LMS_INSTANCE_PATH"] = tmp
    from lms import create_app
    from lms.accounts.models import Role
    from lms.accounts.services import create_user
    from lms.extensions import db
    from question_bank.formats.spreadsheet import export_xlsx
    from question_bank.transfer import import_questions

    url = args.database or f"sqlite:///{tmp}/bench.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_COST": 1024,
        }
    )
    with app.app_context():
        recreate_tables()
        trainer = create_user(
            "bench", "基准", [Role.TRAINER], "Bench-pass-1", must_change_password=False
        )
        db.session.commit()
        data = export_xlsx(make_bank(args.questions))
        start = time.perf_counter()
        result = import_questions("bench.xlsx", data, trainer)
        db.session.commit()
        import_s = time.perf_counter() - start
        assert result.created == args.questions, result

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    resp = client.post(
        "/login", data={"username": "bench", "password": "Bench-pass-1", "csrf_token": token}
    )
    assert resp.status_code == 302

    def get(url):
        def run():
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)

        return run

    list_ms = timed(get("/qb/"), args.requests)
    search_ms = timed(get("/qb/?q=%E5%8F%8D%E6%B4%97%E9%92%B1"), args.requests)  # 反洗钱
    deep_ms = timed(get("/qb/?q=%E6%83%85%E5%BD%A296&page=5"), args.requests)  # 情形96
    filter_ms = timed(
        get("/qb/?qtype=single_choice&difficulty=3&tag=%E6%A0%87%E7%AD%BE7"), args.requests
    )
    figures = {
        "questions": args.questions,
        "xlsx_bytes": len(data),
        "import_xlsx_s": round(import_s, 2),
        **summarise("list_page", list_ms),
        **summarise("search_page", search_ms),
        **summarise("search_page5", deep_ms),
        **summarise("filtered_list", filter_ms),
        "database": url.split(":", 1)[0],
    }
    print(f"bench.question_bank ({figures['database']}, in-process client)")
    report(figures, args.json)


if __name__ == "__main__":
    main()
