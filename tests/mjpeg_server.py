"""A local stand-in for a network camera: an HTTP MJPEG stream (``multipart/x-mixed-replace``) on 127.0.0.1.

IP cameras serve exactly this; OpenCV's FFmpeg backend reads it as it reads
RTSP: frame by frame, length unknown. The path says how the stream behaves:

* ``/end/N/...``: N frames, then the response ends (a stream that ends);
* ``/drop/N/...``: N frames, half of the next, then the socket is shut (a
  dropped connection);
* ``/live/...``: frames until the client goes away (a camera).

``sent`` counts frames sent on every connection, so a test knows the reader
is past its first frames before it signals it.
"""

from __future__ import annotations

import http.server
import socketserver
import threading
import time

import cv2
import numpy as np

BOUNDARY = b"frame"


def _frames(count: int, height: int, width: int) -> list[bytes]:
    """``count`` textured JPEG frames of a scene panning right (something for a detector and a tracker)."""
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (height, width + 4 * count, 3), dtype=np.uint8), (5, 5), 0)
    return [cv2.imencode(".jpg", scene[:, 4 * i : 4 * i + width])[1].tobytes() for i in range(count)]


class MJPEGServer:
    """Serves MJPEG streams in a thread (see the module docstring); ``url(path)`` addresses one."""

    def __init__(self, height: int = 64, width: int = 96, fps: float = 50.0) -> None:
        self.frames = _frames(20, height, width)
        self.interval = 1.0 / fps
        self.sent = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = self.path.strip("/").split("/")
                kind, count = parts[0], int(parts[1]) if parts[0] in ("end", "drop") else -1
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
                self.end_headers()
                try:
                    server.serve_frames(self, kind, count)
                except (BrokenPipeError, ConnectionResetError):
                    return

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def serve_frames(self, handler: http.server.BaseHTTPRequestHandler, kind: str, count: int) -> None:
        """Write frames to one client as its path asks."""
        index = 0
        while count < 0 or index < count:
            frame = self.frames[index % len(self.frames)]
            part = b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (BOUNDARY, len(frame))
            handler.wfile.write(part + frame + b"\r\n")
            handler.wfile.flush()
            self.sent += 1
            index += 1
            time.sleep(self.interval)
        if kind == "drop":
            frame = self.frames[0]
            handler.wfile.write(b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (BOUNDARY, len(
                frame)) + frame[: len(frame) // 2])  # fmt: skip
            handler.wfile.flush()
            handler.connection.shutdown(2)

    def url(self, path: str) -> str:
        """``http://127.0.0.1:PORT/<path>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/{path}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
