"""Everything the pages need ships with the app: nothing comes from the internet."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", re.I)
CSS_EXTERNAL = re.compile(r"url\(\s*['\"]?\s*(https?:)?//|@import", re.I)


def test_templates_load_nothing_from_other_hosts():
    bad = [str(p) for p in (ROOT / "templates").rglob("*.html") if EXTERNAL.search(p.read_text())]
    assert bad == []


def test_stylesheets_load_nothing_from_other_hosts():
    bad = [
        str(p) for p in (ROOT / "lms/static").rglob("*.css") if CSS_EXTERNAL.search(p.read_text())
    ]
    assert bad == []


def test_static_assets_are_served(client):
    for path in ("/static/css/app.css", "/static/js/app.js"):
        with client.get(path) as resp:
            assert resp.status_code == 200


def test_pages_use_only_local_assets(client):
    page = client.get("/login").get_data(as_text=True)
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert ref.startswith(("/", "#")) and not ref.startswith("//"), ref


#: What the Content-Security-Policy (lms/security.py) blocks: style attributes, <style>
#: blocks, inline <script> and on* handler attributes.
INLINE = re.compile(
    r"""\sstyle\s*=|<style[\s>]|<script(?![^>]*\bsrc\s*=)[^>]*>|\son[a-z]+\s*=\s*["']""", re.I
)


def test_templates_have_no_inline_style_or_script():
    bad = [
        f"{p.relative_to(ROOT)}: {m.group(0).strip()}"
        for p in (ROOT / "templates").rglob("*.html")
        for m in INLINE.finditer(p.read_text())
    ]
    assert bad == []
