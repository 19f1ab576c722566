"""`manage.py load_demo`: the 2013 essay and its discussion, in their real shape."""

import pytest
from django.core.management import call_command

from forum.audit.models import AuditEntry
from forum.discussion.models import Comment
from forum.essays.models import Essay

pytestmark = pytest.mark.django_db


def test_it_loads_the_essay_and_its_three_comments_in_their_nesting(client):
    call_command("load_demo", verbosity=0)
    essay = Essay.objects.get(slug="more-on-soft-alliances")
    assert essay.title == "More on ‘Soft Alliances’"
    assert essay.published_at.date().isoformat() == "2013-07-22"
    assert essay.author.signature_name == "Rajesh"
    paul, relayed, reply = Comment.objects.filter(essay=essay).order_by("path")
    assert (paul.author_name, paul.author_affiliation, paul.author_id) == ("T.V. Paul", "McGill University", None)
    assert reply.parent == relayed
    assert reply.author == essay.author
    assert reply.body.startswith("My response to Prof. Paul")

    html = client.get(essay.get_absolute_url()).text
    assert "3 comments" in html
    assert (
        html.index("There is already a concept called")
        < html.index("I am using the concept")
        < html.index("My response to Prof. Paul")
    )


def test_comment_two_is_a_proxy_post_by_the_essays_author_for_tv_paul(client):
    call_command("load_demo", verbosity=0)
    essay = Essay.objects.get(slug="more-on-soft-alliances")
    relayed = Comment.objects.get(body__contains="I am using the concept")
    assert (relayed.author_name, relayed.author_affiliation, relayed.author_id) == (
        "T.V. Paul",
        "McGill University",
        None,
    )
    provenance = relayed.provenance
    assert provenance.submitter == essay.author
    assert (provenance.received_via, provenance.received_on.isoformat()) == ("email", "2013-07-22")
    assert provenance.self_approved
    html = client.get(essay.get_absolute_url()).text
    assert "Posted on their behalf by <bdi>Rajesh</bdi>, received by email on" in html
    assert "22 July 2013</time>." in html
    assert "Not yet confirmed by <bdi>T.V. Paul</bdi>." in html
    assert [e.action for e in relayed.audit_entries.all()] == ["submitted", "self_approved", "published"]


def test_running_it_again_duplicates_nothing():
    call_command("load_demo", verbosity=0)
    call_command("load_demo", verbosity=0)
    assert Essay.objects.count() == 2
    assert Comment.objects.filter(essay__slug="more-on-soft-alliances").count() == 3  # the seed's, exactly
    assert Comment.objects.count() == 6
    assert AuditEntry.objects.count() == 7 + 6  # the example's three comments: posted and published each


def test_the_example_essay_shows_a_formula_footnotes_a_quoted_passage_and_a_citation(client):
    call_command("load_demo", verbosity=0)
    example = Essay.objects.get(slug="example-counting-alignments")
    assert "example essay that comes with the demo" in example.body_html  # marked as one
    html = client.get(example.get_absolute_url()).text
    assert '<math display="block" alttext="\\binom{n}{2} = \\frac{n(n-1)}{2}">' in html
    assert html.count('class="footnotes"') == 2  # the essay's and a comment's
    quoting = Comment.objects.get(essay=example, author_name="Ben Sample")
    assert quoting.quoted_passage and quoting.body.startswith("> A soft alliance, in Rajesh’s sense")
    assert "[2]" not in quoting.body  # the footnote's number is not quoted
    assert f'On <a href="{example.get_absolute_url()}#{quoting.quoted_passage}">a passage of the essay</a>.' in html
    assert "Glenn H. Snyder, <em>Alliance Politics</em>" in html  # a comment citing its sources
    assert "Cite this essay" in html
