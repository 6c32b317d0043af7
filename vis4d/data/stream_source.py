"""Which ``--input_dir`` is a live stream (a camera index, a network URL) rather than files: no heavy import.

``predict --input_dir 0`` reads camera 0, ``--input_dir rtsp://host/path`` (or
``rtsps``, ``rtmp``, ``http``, ``https``, ``udp``, ``tcp``, ``srt``) a
network stream OpenCV opens (:mod:`vis4d.data.stream`). A folder or file of
that name that exists wins: ``--input_dir 0`` is the folder ``0`` if there is
one. The command line checks this before anything heavy is imported, so it
lives apart from the dataset that reads the stream.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from vis4d.common.names import safe_name

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


def is_camera_index(text: str) -> bool:
    """A camera index (``0``, ``1``, ...), unless a path of that name exists."""
    return text.isdigit() and not Path(text).exists()


def is_stream_source(text: str | None) -> bool:
    """Whether ``text`` names a camera or a network stream (see the module docstring)."""
    if text is None:
        return False
    return is_camera_index(text) or urlparse(text).scheme.lower() in STREAM_SCHEMES


def stream_name(text: str) -> str:
    """The video (and dataset) name of a stream: ``camera0``, or the URL's last path part, else its host."""
    if is_camera_index(text):
        return f"camera{int(text)}"
    url = urlparse(text)
    return safe_name(Path(url.path).stem or (url.hostname or ""), "stream")


def describe(text: str) -> str:
    """``camera 0`` or the URL without its password, for messages."""
    if is_camera_index(text):
        return f"camera {int(text)}"
    url = urlparse(text)
    if url.password is None:
        return text
    return url._replace(netloc=url.netloc.replace(f":{url.password}@", ":***@")).geturl()
