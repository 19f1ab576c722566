"""Sessions in the database, as Django keeps them, read by a query built once per process.

Every signed-in page reads its session first; the ORM spent longer building
that one-row query than the database spent answering it. The table, the
encoding and the expiry are Django's (django.contrib.sessions.backends.db):
only the read differs, so switching engines signs nobody out.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db.models import QuerySet
from django.utils import timezone

from .prepared import Prepared


def _session(key: str) -> QuerySet:
    return Session.objects.filter(session_key=key).values("session_data", "expire_date")


_read = Prepared(_session, key=str)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        row = _read.row(key=self.session_key or "")
        if row is None or row["expire_date"] <= timezone.now():  # Django's own test: expire_date > now
            self._session_key = None
            return None
        return Session(session_key=self.session_key, **row)
