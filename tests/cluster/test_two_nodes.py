"""Two web nodes and two workers behind nginx, with real processes on loopback (bench/cluster.py runs
them; `make cluster` prints the same figures): a comment posted on one node is on the other at once;
machine A dies mid-run and every post is still one comment; no mail is lost or sent under two
Message-IDs. About a minute. The nodes share PostgreSQL and Redis: it runs in the suite's
PostgreSQL pass, where .ci/run has installed nginx."""

import shutil
from pathlib import Path

import pytest
import redis
from django.conf import settings

from bench import cluster

pytestmark = pytest.mark.cluster


def _missing() -> str:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "the nodes share PostgreSQL: this runs in the suite's PostgreSQL pass"
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return "nginx is not installed (.ci/run installs Debian's)"
    try:
        redis.Redis.from_url(cluster.REDIS).ping()
    except redis.RedisError:
        return f"no Redis at {cluster.REDIS}"
    return ""


@pytest.mark.skipif(bool(_missing()), reason=_missing() or "-")
def test_two_nodes_and_two_workers_behind_nginx_stay_correct_when_one_machine_dies():
    result = cluster.run()
    print("\n" + "\n".join(cluster.report(result)))
    assert result.static_by_nginx
    assert result.forwarded_address == "127.0.0.1"  # the browser's, from X-Forwarded-For; not nginx's, not forged
    assert result.seen_on_other_node == result.reads == cluster.READS, result.stale
    assert result.posted > 40 and result.after_kill_ok > 10  # nginx kept going on node B
    assert (result.saved_once, result.missing, result.duplicated) == (result.posted, 0, 0)
    assert result.unrecovered == []
    assert result.mails_delivered == len(result.mails_expected) > 10
    assert (result.mails_lost, result.two_message_ids) == (0, 0)
