"""Recordings of listen-and-type items, kept in the instance folder (never in static/).

Files are stored under a random name the app chose, so a name from the database can never
point outside the folder; only the candidate of an attempt in progress gets one served
(exams.typing.candidate_views.audio), and trainers through the passage library.
"""

import re
import secrets
from pathlib import Path

from flask import abort, current_app, send_file

#: What a stored name looks like: 32 hex characters and the extension we chose.
NAME = re.compile(r"[0-9a-f]{32}\.(ogg|mp3|wav|m4a|webm)")
#: Accepted recordings: the extension we keep, by the sniffed container.
FORMATS = {
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "webm": "audio/webm",
}


def folder() -> Path:
    """Return (and create) the folder of recordings."""
    path = Path(current_app.instance_path) / "typing_audio"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(name: str) -> Path:
    """Return the file of a stored name; a name we did not make never leaves the folder."""
    if not NAME.fullmatch(name or ""):
        return folder() / "missing"
    return folder() / name


def sniff(data: bytes) -> str | None:
    """Return our extension for a recording's bytes by their signature, or None."""
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    if data[4:8] == b"ftyp":
        return "m4a"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    return None


def store(data: bytes) -> tuple[str, str]:
    """Keep a recording; return (stored name, MIME type). Raise ValueError if not audio."""
    ext = sniff(data)
    if ext is None:
        raise ValueError("not a recording")
    name = f"{secrets.token_hex(16)}.{ext}"
    (folder() / name).write_bytes(data)
    return name, FORMATS[ext]


def response(passage, cache_control: str = "no-store"):
    """Return the passage's recording as a response nobody caches (404 if it has none)."""
    path = path_of(passage.audio_file or "")
    if not passage.audio_file or not path.exists():
        abort(404)
    resp = send_file(path, mimetype=passage.audio_mime, conditional=True, max_age=0)
    resp.headers["Cache-Control"] = cache_control
    return resp
