"""A stand-in for ORCID's OAuth endpoints on loopback: authorize (a consent page), token and record.

It answers as orcid.org does (https://info.orcid.org/documentation/api-tutorials/): the authorize page
sends the browser back to the site's redirect URI with a code (or error=access_denied when consent is
refused), the token endpoint trades the code for a token whose response names the iD, and the public
API's record endpoint gives the person's name and the addresses they made public, as
application/orcid+json. Tests say who signs in (`person`) and what goes wrong (`token_error`).
"""

import json
import secrets
import threading
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Person:
    orcid: str
    given_names: str
    family_name: str
    credit_name: str = ""
    emails: list[str] = field(default_factory=list)

    def record(self) -> dict:
        name = {
            "given-names": {"value": self.given_names},
            "family-name": {"value": self.family_name},
            "credit-name": {"value": self.credit_name} if self.credit_name else None,
        }
        emails = [{"email": email, "verified": True, "primary": index == 0} for index, email in enumerate(self.emails)]
        return {
            "orcid-identifier": {"uri": f"https://orcid.org/{self.orcid}", "path": self.orcid, "host": "orcid.org"},
            "person": {"name": name, "emails": {"email": emails}},
        }


# Josiah Carberry: ORCID's own fictitious researcher, whose iD is in their documentation.
CARBERRY = Person("0000-0002-1825-0097", "Josiah", "Carberry", emails=["josiah@brown.example"])


class StandIn:
    """The server, and what it has been asked."""

    def __init__(self) -> None:
        self.person = CARBERRY
        self.token_error = ""  # e.g. "invalid_grant": the token endpoint refuses the code
        self.client_id, self.secret = "APP-STANDIN0000001", "standin-secret"
        self.codes: dict[str, Person] = {}
        self.issued: dict[str, Person] = {}  # by iD: whose records the public API gives
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> "StandIn":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def code_for(self, person: Person) -> str:
        """A code as the authorize page hands out, for tests that skip the page."""
        code = secrets.token_urlsafe(6)
        self.codes[code] = self.issued[person.orcid] = person
        return code

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                standin.requests.append(f"GET {url.path}")
                if url.path == "/oauth/authorize":
                    self._consent(query)
                elif url.path == "/oauth/decide":
                    self._decide(query)
                elif url.path.startswith("/v3.0/") and url.path.endswith("/record"):
                    person = standin.issued.get(url.path.split("/")[2])
                    if person is None or "orcid+json" not in self.headers.get("Accept", ""):
                        self._send(404, {"error": "not-found"})
                    else:
                        self._send(200, person.record(), "application/orcid+json")
                else:
                    self._send(404, {"error": "not-found"})

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                standin.requests.append(f"POST {url.path}")
                length = int(self.headers.get("Content-Length") or 0)
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                if url.path != "/oauth/token":
                    self._send(404, {"error": "not-found"})
                elif standin.token_error:
                    self._send(400, {"error": standin.token_error, "error_description": "Refused by the stand-in."})
                elif (form.get("client_id"), form.get("client_secret")) != (standin.client_id, standin.secret):
                    self._send(401, {"error": "invalid_client"})
                elif (person := standin.codes.pop(form.get("code", ""), None)) is None:
                    self._send(400, {"error": "invalid_grant", "error_description": "Reused or unknown code."})
                else:
                    token = {
                        "access_token": secrets.token_hex(16),
                        "token_type": "bearer",
                        "refresh_token": secrets.token_hex(16),
                        "expires_in": 631138518,
                        "scope": "/authenticate",
                        "name": f"{person.given_names} {person.family_name}",
                        "orcid": person.orcid,
                    }
                    self._send(200, token)

            def _consent(self, query: dict) -> None:
                """ORCID's sign-in and consent page, reduced to its two buttons."""
                if query.get("client_id") != standin.client_id or query.get("response_type") != "code":
                    self._send(400, {"error": "invalid_request"})
                    return
                back = urlencode({"redirect_uri": query.get("redirect_uri", ""), "state": query.get("state", "")})
                who = escape(f"{standin.person.given_names} {standin.person.family_name}")
                page = (
                    f"<!doctype html><html lang=en><title>ORCID stand-in</title><h1>Authorize access</h1>"
                    f"<p>Signed in to ORCID as {who} ({standin.person.orcid}). "
                    f"The site asks to know your ORCID iD (scope {escape(query.get('scope', ''))}).</p>"
                    f'<p><a href="/oauth/decide?{back}&amp;allow=1">Authorize access</a> '
                    f'<a href="/oauth/decide?{back}&amp;allow=0">Deny access</a></p>'
                )
                self._send(200, page.encode(), "text/html; charset=utf-8")

            def _decide(self, query: dict) -> None:
                answer = {"state": query["state"]}
                if query.get("allow") == "1":
                    answer["code"] = standin.code_for(standin.person)
                else:
                    answer |= {"error": "access_denied", "error_description": "User denied access"}
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{urlencode(answer)}")
                self.end_headers()

            def _send(self, status: int, body, content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
