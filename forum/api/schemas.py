"""What the API takes and gives, as its OpenAPI schema describes them (django-ninja, pydantic)."""

from uuid import UUID

from ninja import Field, Schema


class Problem(Schema):
    """Every error: a code for programs, a sentence for people, and what was wrong with each field."""

    code: str = Field(examples=["invalid"])
    message: str
    fields: dict[str, list[str]] = {}


class Author(Schema):
    name: str
    affiliation: str
    website: str
    orcid: str
    member: bool


class Provenance(Schema):
    posted_by: str
    received_via: str
    received_on: str
    confirmation: str = Field(description="unconfirmed, confirmed or corrected")
    confirmed_at: str | None


class Thread(Schema):
    slug: str
    title: str
    state: str = Field(description="open, closed, or checking (a new page elsewhere, not yet checked)")
    url: str = Field(description="The discussion on this site")
    page_url: str = Field(description="Where readers take part: the page elsewhere, or this site's")
    elsewhere: bool
    comments_url: str
    feed_url: str
    email_address: str = Field(description="Where a comment may be mailed when the form cannot be used")


class Comment(Schema):
    id: int
    parent: int | None
    depth: int
    url: str
    state: str = Field(description="published; deleted, removed, withdrawn, erased for a tombstone")
    note: str | None = Field(None, description="A tombstone's sentence")
    author: Author | None = None
    created_at: str | None = None
    edited_at: str | None = None
    competing_interests: str | None = None
    quoted_passage: str | None = None
    html: str | None = Field(None, description="The text as sanitised HTML (stored when it was written)")
    source: str | None = Field(None, description="The text as its writer wrote it (Markdown), with ?source=true")
    by_email: bool | None = None
    provenance: Provenance | None = None
    can_reply: bool | None = None
    rendered: str | None = Field(
        None,
        description="The comment as the site's page shows it (signature, provenance, confirmation), without its "
        "links, and with its text's place (div.comment-body) empty: put `html` there",
    )


class Discussion(Schema):
    thread: Thread
    count: int = Field(description="Published comments in the whole discussion")
    order: str
    page: int
    pages: int
    comments: list[Comment]


class Member(Schema):
    name: str
    affiliation: str
    orcid: str
    needs_name: bool


class FormStart(Schema):
    """What a new comment form needs: its key (one comment however often it is sent) and the signed
    time it was shown (a form sent back within seconds was not written by a person)."""

    submission_key: UUID
    shown_at: str
    open: bool
    member: Member | None
    require_competing_interests: bool
    max_characters: int


class CommentIn(Schema):
    body: str = Field(max_length=1_000_000)
    submission_key: UUID
    shown_at: str = Field("", max_length=200)
    parent: int | None = None
    name: str = Field("", max_length=1000, description="Guests: the name they sign with")
    email: str = Field("", max_length=1000, description="Guests: never shown; the confirmation link goes there")
    affiliation: str = Field("", max_length=1000)
    website: str = Field("", max_length=1000)
    notify_replies: bool = False
    competing_interests: str = Field("", max_length=1000)
    quoted_passage: str = Field("", max_length=100)
    quoted_version: int | None = None
    homepage_url: str = Field("", max_length=1000, description="Leave empty (a trap for robots)")


class Posted(Schema):
    id: int
    state: str = Field(description="published, awaiting (the guest's email) or pending (a moderator)")
    created: bool = Field(description="False when the same form (submission_key) was sent before")
    mail_sent: bool
    message: str
    url: str
    receipt: str = Field(
        description="A guest's: shown back to GET /held, it lists this comment while it waits (keep it in the browser)"
    )


class PreviewIn(Schema):
    body: str = Field(max_length=1_000_000)


class Preview(Schema):
    html: str


class Held(Schema):
    id: int
    thread: str
    thread_title: str
    state: str
    state_label: str
    created_at: str
    html: str
    source: str
    receipt_url: str
