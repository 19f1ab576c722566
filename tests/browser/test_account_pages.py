"""Account pages that allauth renders, under our Content Security Policy (no inline styles)."""

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_member_cancels_a_pending_email_change_with_no_policy_violation(context, sign_in, member):
    # allauth's page hides a form with an inline style; ours uses `hidden` (the fixture fails on a violation).
    EmailAddress.objects.create(user=member, email="alice.new@example.org", verified=False, primary=False)
    sign_in(context, member)
    page = context.new_page()
    page.goto("/accounts/email/")
    expect(page.get_by_text("alice.new@example.org")).to_be_visible()
    page.get_by_role("button", name="Cancel Change").click()
    expect(page.get_by_text("Removed email address alice.new@example.org.")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel Change")).to_have_count(0)
    assert not EmailAddress.objects.filter(email="alice.new@example.org").exists()
    assert EmailAddress.objects.get(user=member).email == "alice@example.org"
