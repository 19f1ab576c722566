from django.db import models
from django.utils import timezone


class PersonalLink(models.Model):
    """A link mailed to a guest so they may read the data held about their address: it works once.

    It holds no address (the signed link carries it): only its nonce and when it was used.
    """

    nonce = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link of {self.created_at:%Y-%m-%d %H:%M}{' (used)' if self.used_at else ''}"
