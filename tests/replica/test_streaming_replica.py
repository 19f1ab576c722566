"""A PostgreSQL streaming replica on loopback, made by the test with the server's own tools (bench/replica.py;
`make replica` prints the same): reads of pages come from the standby, a writer's next page from the
primary, so a comment is never missing from the page of the person who wrote it. About 20 seconds; in
the suite's PostgreSQL pass, where the server's programs are installed."""

import pytest
from django.conf import settings

from bench import replica

pytestmark = pytest.mark.replica

MISSING = (
    "the suite's PostgreSQL pass runs this"
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
    else "PostgreSQL's server programs are not installed"
    if replica.bin_dir() is None
    else ""
)


@pytest.mark.skipif(bool(MISSING), reason=MISSING or "-")
def test_pages_read_from_the_replica_and_a_writer_reads_their_own_comment_from_the_primary():
    result = replica.run()
    print("\n" + "\n".join(replica.report(result)))
    assert result.writer_sees_own_comment  # no "where is my comment?"
    assert not result.anonymous_sees_it_while_paused  # their reads came from the lagging standby
    assert not result.other_member_sees_it_while_paused
    assert result.anonymous_sees_it_after_replay
    assert result.primary_cookie_seconds == replica.PRIMARY_AFTER_WRITE
    assert result.page_with_standby_stopped == 200  # with the comment: read from the primary
    assert result.health_with_standby_stopped == "the read replica cannot be reached: pages are read from the primary"
