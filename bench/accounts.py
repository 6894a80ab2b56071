"""Benchmark the sign-in path with production hashing parameters on SQLite.

python -m bench.accounts [--json PATH] [--requests N]

Measures the Argon2id hash and verify cost, a full sign-in request, and a signed-in page
(which loads the user through the server-side session). Figures are medians and p99 in ms.
"""

import os
import re
import tempfile

from bench._common import parser, report, summarise, timed


def main() -> None:
    """Run the benchmark."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=60)
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-accounts-")
    os.environ["LMS_INSTANCE_PATH"] = tmp
    from lms import create_app
    from lms.accounts import passwords
    from lms.demo import seed
    from lms.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db"})
    with app.app_context():
        db.create_all()
        seed(n_agents=200)
        db.session.commit()
        hashed = passwords.hash_password("demo12345")
        hash_ms = timed(lambda: passwords.hash_password("demo12345"), 10)
        verify_ms = timed(lambda: passwords.verify_password(hashed, "demo12345"), 10)

    token_re = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    client = app.test_client()

    def sign_in():
        client.post("/logout", data={"csrf_token": token()})
        resp = client.post(
            "/login", data={"username": "A0001", "password": "demo12345", "csrf_token": token()}
        )
        assert resp.status_code == 302, resp.status_code

    def token():
        page = client.get("/login").get_data(as_text=True)
        found = token_re.search(page)
        if not found:
            page = client.get("/account").get_data(as_text=True)
            found = token_re.search(page)
        return found.group(1)

    login_ms = timed(sign_in, max(5, args.requests // 4))
    home_ms = timed(lambda: client.get("/"), args.requests)
    figures = {
        "argon2_hash_p50_ms": round(sorted(hash_ms)[len(hash_ms) // 2], 3),
        "argon2_verify_p50_ms": round(sorted(verify_ms)[len(verify_ms) // 2], 3),
        **summarise("sign_in_request", login_ms),
        **summarise("agent_home_page", home_ms),
        "agents": 200,
        "requests": args.requests,
    }
    print("bench.accounts (SQLite, production Argon2id parameters, in-process client)")
    report(figures, args.json)


if __name__ == "__main__":
    main()
