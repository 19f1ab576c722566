from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models

from forum.lib.redirects import normalised_origin


class EmbedOrigin(models.Model):
    """A site allowed to embed the discussion (`embed.js`) and to call the API from its pages.

    Listed here (the admin) or in the FORUM_EMBED_ORIGINS setting. A page of any other origin gets
    no discussion and no data.
    """

    origin = models.CharField(
        max_length=200, unique=True, help_text="Scheme, host and port, as browsers send it: https://blog.example.org"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Whose blog it is: the discussions of its pages are theirs (shown as their author, and on "
        "their desk). Empty: the site's first administrator.",
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["origin"]
        verbose_name = "site that embeds the discussion"

    def __str__(self) -> str:
        return self.origin

    def clean(self) -> None:
        origin = normalised_origin(self.origin)
        if origin is None:
            raise ValidationError({"origin": "Give a scheme and a host, and nothing after: https://blog.example.org"})
        self.origin = origin


# The origins listed in the table, kept in the shared cache (every API request asks).
LISTED_CACHE_KEY = "embed:origins"


def listed_changed(**kwargs) -> None:
    """An origin was listed, changed or taken off (post_save, post_delete: the admin's bulk delete
    too, connected in apps.py): the next request reads the list again."""
    cache.delete(LISTED_CACHE_KEY)
