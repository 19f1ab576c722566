"""Fixed-window rate limits counted in Django's cache (Redis in production)."""

import hashlib

from django.core.cache import cache


def _key(scope: str, identity: str) -> str:
    digest = hashlib.sha256(identity.strip().lower().encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}"


def allow(scope: str, identity: str, limit: int, period: int) -> bool:
    """Count one use of `scope` by `identity`; False once `limit` is passed."""
    key = _key(scope, identity)
    cache.add(key, 0, timeout=period)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=period)
        count = 1
    return count <= limit
