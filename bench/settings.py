"""The production settings, plus one folder WhiteNoise serves for the static ceiling.

`make bench` saves each measured page's HTML under var/bench/static/ceiling/
and fetches it as /ceiling/<file> from the same gunicorn + WhiteNoise: the
fastest those bytes can leave this stack. Nothing else differs.
"""

from forum.settings import *  # noqa: F403
from forum.settings import VAR_DIR

WHITENOISE_ROOT = VAR_DIR / "bench" / "static"
WHITENOISE_ROOT.mkdir(parents=True, exist_ok=True)
