"""A site of its own on loopback, for tests of what crosses sites: a blog that embeds a discussion,
a page the site checks, a probe of a browser's cookies. It answers every GET with `html` (which a
test may change), adds the headers `headers_for` names for a path, and records each request."""

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]


class LoopbackSite:
    def __init__(self, html: str = "", name: str = "127.0.0.1", headers_for: dict | None = None) -> None:
        self.html = html.encode()
        self.headers_for = headers_for or {}  # path: {header: value}
        self.seen: list[Seen] = []
        site = self

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.seen.append(Seen(self.path, dict(self.headers)))
                self.send_response(200)
                for header, value in site.headers_for.get(self.path, {}).items():
                    self.send_header(header, value)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(site.html)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.port = self.server.server_port
        self.origin = f"http://{name}:{self.port}"  # "localhost" is another site than "127.0.0.1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
