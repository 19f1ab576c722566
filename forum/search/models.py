from django.contrib.postgres.search import SearchVectorField
from django.db import models


class Entry(models.Model):
    """The words by which an essay or a comment is found (forum/search/index.py keeps them).

    Who may find it is not here: searches join the essay's and the comment's
    own columns, read at the moment of the search.
    """

    key = models.CharField(max_length=24, unique=True)  # "e<id>" for an essay, "c<id>" for a comment
    essay = models.ForeignKey("essays.Essay", on_delete=models.CASCADE, related_name="+")
    comment = models.OneToOneField(
        "discussion.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    title = models.TextField(blank=True)  # an essay's title; "" for a comment
    names = models.TextField(blank=True)  # who wrote it: the essay's author, the comment's signature
    body = models.TextField(blank=True)  # its text, as plain text (formulas as TeX)
    dated = models.DateTimeField()  # the date it is known by (newest first)
    # PostgreSQL only: the words of the three, weighted, written by a trigger (migration 0002) and
    # indexed by GIN. SQLite indexes the entries in an FTS5 table instead, and leaves this empty.
    document = SearchVectorField(null=True, editable=False)

    class Meta:
        verbose_name_plural = "entries"
        # Newest first: the order readers may choose, and that of a search that finds very many.
        indexes = [models.Index(fields=["dated"], name="search_entry_dated")]

    def __str__(self) -> str:
        return self.key
