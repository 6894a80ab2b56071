"""nginx in front of the benchmark's gunicorn, as deploy/nginx/lms.conf puts it in front of
production's.

Browsers never talk to gunicorn itself: nginx keeps each browser's connection open (75 s)
and sends its requests over a few kept-alive connections of its own (the upstream's
``keepalive``). Without it, gunicorn closes a connection idle for 2 s, so a snapshot every
5 s opens a new TCP connection each time; on this machine that took about a third more CPU
in gunicorn and in the client. The proxy directives are read from the deploy file itself,
so that the benchmark forwards exactly what production forwards (TLS left out, and the Host
with its port, the benchmark's port not being the default one).

nginx logs, for each request, how long it waited for gunicorn's answer (from sending the
request upstream to its response header): the time inside the app (gunicorn's own log)
plus the time the request queued in gunicorn for a worker thread. ``waits`` reads it, so a
slow burst can be placed: in the client, in gunicorn's queue, or in the app.
"""

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from bench._common import p99_by_window, stop_process

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_CONF = ROOT / "deploy" / "nginx" / "lms.conf"
ACCESS_LOG = "nginx-access.log"

CONF = """\
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    log_format timing '$uri $status $upstream_header_time $request_time $msec';
    access_log {workdir}/nginx-access.log timing buffer=64k flush=5s;
    client_body_temp_path {workdir}/nginx-body;
    proxy_temp_path {workdir}/nginx-proxy;
    fastcgi_temp_path {workdir}/nginx-fastcgi;
    uwsgi_temp_path {workdir}/nginx-uwsgi;
    scgi_temp_path {workdir}/nginx-scgi;
{upstreams}
    server {{
        listen 127.0.0.1:{port};
        {body_size}
{locations}
    }}
}}
"""


def binary() -> str | None:
    """Return the path of nginx, or None when it is not installed."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def _directive(text: str, name: str) -> str:
    """Return the first ``name ...;`` line of the deploy file."""
    found = re.search(rf"^\s*({name}\s[^;]*;)", text, re.MULTILINE)
    if not found:
        raise ValueError(f"{DEPLOY_CONF} has no {name} directive")
    return found.group(1)


def upstream_blocks(text: str) -> list[tuple[str, str]]:
    """Return the deploy file's ``upstream`` blocks: (name, body), in order."""
    blocks = re.findall(r"^upstream (\w+) \{\n(.*?)^\}", text, re.MULTILINE | re.DOTALL)
    if not blocks:
        raise ValueError(f"{DEPLOY_CONF} has no upstream block")
    return blocks


def proxied_locations(text: str) -> list[tuple[str, str]]:
    """Return the deploy file's ``location`` blocks that proxy: (match, body), in order."""
    found = re.findall(
        r"^([ \t]*)location ([^{\n]+?) \{\n(.*?)^\1\}", text, re.MULTILINE | re.DOTALL
    )
    out = [(match, body) for _indent, match, body in found if "proxy_pass " in body]
    if not any(match == "/" for match, _ in out):
        raise ValueError(f"{DEPLOY_CONF} has no 'location /' block")
    return out


def config(workdir: str, port: int, upstreams: dict[str, int]) -> str:
    """Return the benchmark's nginx.conf: the deploy file's upstreams with their keep-alive
    settings, its body size and proxied ``location`` blocks, on 127.0.0.1:port. Each
    upstream forwards to the port ``upstreams`` gives it, or lms_web's when none."""
    text = DEPLOY_CONF.read_text(encoding="utf-8")
    blocks = []
    for name, body in upstream_blocks(text):
        keep = re.findall(r"^\s*(keepalive\w*\s[^;]*;)", body, re.MULTILINE)
        if not keep:
            raise ValueError(f"{DEPLOY_CONF}'s upstream {name} keeps no connection alive")
        to = upstreams.get(name, upstreams["lms_web"])
        lines = "".join(f"\n        {line}" for line in keep)
        blocks.append(f"    upstream {name} {{\n        server 127.0.0.1:{to};{lines}\n    }}")
    locations = []
    for match, body in proxied_locations(text):
        body = re.sub(r"\$host\b", "$http_host", body)
        locations.append(f"        location {match} {{\n{body}        }}")
    return CONF.format(
        workdir=workdir,
        port=port,
        upstreams="\n".join(blocks),
        body_size=_directive(text, "client_max_body_size"),
        locations="\n".join(locations),
    )


def start(workdir: str, port: int, upstreams: dict[str, int]) -> subprocess.Popen:
    """Start nginx on 127.0.0.1:port in front of the upstreams (see config); return it once
    it listens."""
    path = Path(workdir) / "nginx.conf"
    path.write_text(config(workdir, port, upstreams), encoding="utf-8")
    proc = subprocess.Popen([binary(), "-c", str(path), "-g", "daemon off;"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = f"{workdir}/nginx-error.log"
            raise RuntimeError(f"nginx exited with {proc.returncode}; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    stop(proc)
    raise RuntimeError("nginx did not listen within 10 s")


def stop(proc: subprocess.Popen) -> None:
    """Stop nginx (a fast shutdown: the benchmark is over)."""
    stop_process(proc, timeout=10)


def waits(workdir: str, path_suffix: str, by_seconds: float) -> list[float]:
    """Return the p99 (ms) of how long nginx waited for gunicorn's answer to the requests
    whose path ends so, in each window of ``by_seconds`` from the first (none without
    nginx's log).

    A request nginx sent more than once ("-, 0.010": the first try got no answer; tries
    after an internal redirect are set apart by " : ") waited the tries together. One that
    got no answer at all (the client gave up first, 499) waited as long as nginx held it:
    left out, the slowest requests would be the ones missing.
    """
    log = Path(workdir) / ACCESS_LOG
    if not log.exists():
        return []
    rows = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split(" ")
        if len(parts) < 5 or not parts[0].endswith(path_suffix):
            continue
        tries = [t for t in re.split(r"\s*[,:]\s*", " ".join(parts[2:-2])) if t and t != "-"]
        try:
            held, at = float(parts[-2]), float(parts[-1])
            waited = sum(float(t) for t in tries) if tries else held
        except ValueError:
            continue
        rows.append((at - held, waited * 1000))  # by when nginx took the request
    return p99_by_window(rows, by_seconds)
