"""A plain HTML page of another site that embeds the demo essay's discussion: `make run` serves it at
http://localhost:8001/ beside the site (docs/embed.md)."""

import html
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from forum.essays.management.commands.load_demo import DEMO_FILES

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>A blog elsewhere: {title}</title>
<style>body{{font:18px/1.6 Georgia,serif;max-width:44rem;margin:2rem auto;padding:0 1rem}}
pre{{white-space:pre-wrap;overflow-wrap:anywhere}}</style>
</head>
<body>
<main>
<h1>A blog that lives elsewhere</h1>
<p>This page is served by <code>manage.py serve_embed_demo</code> on another origin than {site}. Its
discussion is the one under “{title}” there, embedded by one script tag:</p>
<pre><code>{snippet}</code></pre>
{tag}
<noscript><p><a href="{url}">Read and join the discussion on {site}</a>.</p></noscript>
</main>
</body>
</html>
"""


class Command(BaseCommand):
    help = "Serve a page of another origin that embeds the demo essay's discussion (make run: port 8001)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)

    def handle(self, *args, **options) -> None:
        essay = json.loads(DEMO_FILES[0].read_text(encoding="utf-8"))["essay"]  # the 2013 essay
        url = settings.SITE_URL.rstrip("/") + reverse("essays:detail", kwargs={"slug": essay["slug"]})
        tag = f'<script src="{settings.SITE_URL.rstrip("/")}/embed.js" data-page="{url}" async></script>'
        body = PAGE.format(
            title=html.escape(essay["title"]), site=settings.SITE_URL, url=url, tag=tag, snippet=html.escape(tag)
        ).encode()

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.stdout.write(f"A page elsewhere embedding the demo discussion: http://localhost:{options['port']}/")
        ThreadingHTTPServer((options["host"], options["port"]), Page).serve_forever()
