"""Serving: gunicorn on SQLite, the proxy trust, and deploy/ files that name real things."""

import ast
import configparser
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from lms import create_app
from tests.conftest import PASSWORD
from tests.servers import ROOT, Browser, app_env, flask, serve, wait_healthy

DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
APP_ROOT = "/srv/lms/app"  # where the units and nginx expect the checkout


def env_example() -> dict[str, str]:
    """Return the variables of deploy/lms.env.example."""
    values = {}
    for line in (DEPLOY / "lms.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def unit(path: Path) -> configparser.ConfigParser:
    """Parse a systemd unit file."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser


def exec_start(path: Path) -> list[str]:
    """Return a unit's ExecStart as arguments, ${VARS} filled in from the env example."""
    line = unit(path)["Service"]["ExecStart"]
    env = env_example()
    missing = set(re.findall(r"\$\{(\w+)\}", line)) - set(env)
    assert not missing, f"{path.name} uses {missing}, which lms.env.example does not set"
    return shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], line))


@pytest.fixture
def bare_app(tmp_path, monkeypatch):
    """Return a function building the app from the environment plus ``config``."""
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return lambda **config: create_app({"TESTING": True, **config})


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_runs_a_real_command_from_the_checkout(path, bare_app):
    service = unit(path)["Service"]
    assert service["WorkingDirectory"] == APP_ROOT
    assert service["EnvironmentFile"] == "/etc/lms/lms.env"
    argv = exec_start(path)
    program = Path(argv[0])
    assert program.parent == Path(APP_ROOT, ".venv/bin")
    assert (Path(sys.executable).parent / program.name).exists(), f"{program.name} not installed"
    if program.name == "flask":
        assert argv[1:3] == ["--app", "wsgi"]
        assert argv[3] in bare_app().cli.commands, f"no `flask {argv[3]}` command"
    elif program.name == "gunicorn":
        from gunicorn.config import Config

        options = Config().parser().parse_args(argv[1:])  # exits on an unknown option
        module, _, attr = options.args[0].partition(":")
        tree = ast.parse((ROOT / f"{module}.py").read_text(encoding="utf-8"))
        assert any(
            isinstance(node, ast.Assign) and any(getattr(t, "id", "") == attr for t in node.targets)
            for node in tree.body
        ), f"{module}.py defines no {attr}"
        # The address of an nginx upstream: lms-web's, or the typing snapshots' own.
        conf = (DEPLOY / "nginx" / "lms.conf").read_text(encoding="utf-8")
        want = {"lms-web.service": "127.0.0.1:8000", "lms-snapshots.service": "127.0.0.1:8001"}
        assert options.bind == [want[path.name]]
        assert f"server {want[path.name]};" in conf
    else:
        pytest.fail(f"{path.name} runs {program.name}, neither flask nor gunicorn")


def test_every_timer_starts_a_unit_that_exists():
    timers = list((DEPLOY / "systemd").glob("*.timer"))
    assert timers
    for path in timers:
        assert (DEPLOY / "systemd" / unit(path)["Timer"]["Unit"]).exists()


def test_env_example_sets_only_settings_that_are_read():
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "lms").rglob("*.py"))
    units = "\n".join(p.read_text(encoding="utf-8") for p in UNITS)
    for name in env_example():
        assert f'"{name}"' in code or f"${{{name}}}" in units, f"nothing reads {name}"
    assert env_example()["LMS_PROXY_HOPS"] == "1"  # nginx is the one hop


def test_nginx_serves_the_apps_static_folder_and_forwards_one_hop(bare_app):
    conf = (DEPLOY / "nginx" / "lms.conf").read_text(encoding="utf-8")
    aliases = re.findall(r"alias\s+(\S+);", conf)
    static = Path(bare_app().static_folder)
    assert [a.rstrip("/") for a in aliases] == [f"{APP_ROOT}/{static.relative_to(ROOT)}"]
    assert "server 127.0.0.1:8000;" in conf
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "ssl_certificate " in conf and "return 301 https://" in conf


def test_readme_names_every_deploy_file():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            assert str(path.relative_to(ROOT)) in readme, f"README does not mention {path}"


def test_make_run_serves_with_gunicorn():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "gunicorn" in recipe and "--bind $(HOST):$(PORT)" in recipe and "wsgi:app" in recipe


def _probe(app):
    """Make the app's inner WSGI app echo the client address and scheme it is given."""
    seen = {}

    def inner(environ, start_response):
        seen.update(addr=environ["REMOTE_ADDR"], scheme=environ["wsgi.url_scheme"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    if isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app.app = inner
    else:
        app.wsgi_app = inner
    return seen


@pytest.mark.parametrize(
    ("hops", "addr", "scheme"), [(0, "10.0.0.2", "http"), (1, "7.7.7.7", "https")]
)
def test_proxy_hops_trusts_exactly_that_many_proxies(bare_app, hops, addr, scheme):
    app = bare_app(PROXY_HOPS=hops)
    seen = _probe(app)
    app.test_client().get(
        "/",
        headers={"X-Forwarded-For": "6.6.6.6, 7.7.7.7", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    # A client's own X-Forwarded-For entry (6.6.6.6) is never believed.
    assert seen == {"addr": addr, "scheme": scheme}


def test_gunicorn_serves_sqlite_from_several_workers(tmp_path):
    """The embedded default under `make run`: SQLite (WAL) shared by two gunicorn workers."""
    env = app_env(tmp_path / "instance", DATABASE_URL=f"sqlite:///{tmp_path / 'lms.db'}")
    names = [f"u{i}" for i in range(8)]
    steps = [["init-db"]] + [
        ["create-user", n, "--role", "trainer", "--password", PASSWORD] for n in names
    ]
    for step in steps:
        done = flask(*step, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    with open(tmp_path / "gunicorn.log", "w") as log:
        proc, host = serve(env, log, workers=2)
        try:
            wait_healthy(proc, host)

            def sign_in_and_browse(name):
                browser = Browser()
                return browser.sign_in(host, name)[0], browser.open(f"{host}/qb/")[0]

            with ThreadPoolExecutor(8) as pool:
                outcomes = list(pool.map(sign_in_and_browse, names))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert outcomes == [(302, 200)] * len(names), (tmp_path / "gunicorn.log").read_text()


def test_a_worker_freezes_what_start_up_made(tmp_path):
    """gunicorn's workers import wsgi: what start-up made is frozen out of the collector's
    full collections, which walked all of it in the middle of an exam's busiest minute."""
    env = app_env(tmp_path / "instance", DATABASE_URL=f"sqlite:///{tmp_path / 'lms.db'}")
    probe = "import gc, wsgi; print(gc.get_freeze_count())"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # The modules, the app and its extensions: far more than a bare interpreter has.
    assert int(done.stdout.split()[-1]) > 50_000


def test_nginx_closes_an_idle_upstream_connection_before_gunicorn_does():
    """Else gunicorn may close a kept-alive connection as nginx sends a POST on it, and
    nginx, which never resends a POST, answers 502: a snapshot refused for nothing."""
    conf = (DEPLOY / "nginx" / "lms.conf").read_text(encoding="utf-8")
    upstreams = re.findall(r"^upstream (\w+) \{(.*?)^\}", conf, re.MULTILINE | re.DOTALL)
    assert [name for name, _ in upstreams] == ["lms_web", "lms_snapshots"]
    for (_name, upstream), service in zip(
        upstreams, ("lms-web.service", "lms-snapshots.service"), strict=True
    ):
        nginx_idle = re.search(r"keepalive_timeout\s+(\d+)s;", upstream)
        assert nginx_idle, "the upstream keeps connections alive 60 s (nginx's default)"
        command = unit(DEPLOY / "systemd" / service)["Service"]["ExecStart"]
        # gunicorn's --keep-alive, 2 s unless the unit sets it.
        set_ = re.search(r"--keep-alive[= ](\d+)", command)
        gunicorn_idle = int(set_.group(1)) if set_ else 2
        assert int(nginx_idle.group(1)) < gunicorn_idle


def test_the_typing_snapshots_go_to_their_own_workers_and_nothing_else_does():
    """nginx's location for the snapshots matches their address only, and forwards as /."""
    conf = (DEPLOY / "nginx" / "lms.conf").read_text(encoding="utf-8")
    blocks = dict(
        (match, body)
        for _indent, match, body in re.findall(
            r"^([ \t]*)location ([^{\n]+?) \{\n(.*?)^\1\}", conf, re.MULTILINE | re.DOTALL
        )
    )
    snap = "~ ^/exam/typing/attempts/[0-9]+/snapshot$"
    assert blocks[snap] == blocks["/"].replace("http://lms_web;", "http://lms_snapshots;")
    pattern = re.compile(snap[2:])
    assert pattern.search("/exam/typing/attempts/12/snapshot")
    for other in (
        "/exam/typing/attempts/12/finish",
        "/exam/typing/attempts/12",
        "/exam/typing/attempts/12/snapshot/x",
        "/exam/attempts/12/save",
    ):
        assert not pattern.search(other), other
    assert unit(DEPLOY / "systemd" / "lms-snapshots.service")["Service"]["Nice"] == "-5"
    # The pages yield to the snapshots, nginx and the database when the cores are full.
    assert unit(DEPLOY / "systemd" / "lms-web.service")["Service"]["Nice"] == "5"
