"""A member's published comments as an Atom feed, beside their public page."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from forum.discussion import rules
from forum.discussion.models import Comment
from forum.essays.feeds import CommentFeedMixin, absolute, tag_uri
from forum.lib.reader import Actor

from .models import User

FEED_LIMIT = 50


class PersonCommentsFeed(CommentFeedMixin, Feed):
    def get_object(self, request, handle: str) -> User:
        member = get_object_or_404(User, handle=handle)
        if not rules.can_see_page_of(Actor(), member):  # a feed is for everyone, or nobody
            raise Http404("No such feed.")
        return member

    def title(self, member: User) -> str:
        return f"Comments by {member.public_name}"

    def subtitle(self, member: User) -> str:
        return f"What {member.public_name} has written on {settings.SITE_NAME}, newest first."

    def link(self, member: User) -> str:
        return absolute(member.public_page)

    def feed_url(self, member: User) -> str:
        return absolute(reverse("people:feed", kwargs={"handle": member.handle}))

    def feed_guid(self, member: User) -> str:
        return tag_uri("person", member.pk, member.date_joined)

    def items(self, member: User) -> QuerySet[Comment]:
        return Comment.objects.public_by(member)[:FEED_LIMIT]
