from django.contrib import admin

from .models import Comment


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    """A read-mostly view for admins; moderation has its own desk."""

    list_display = ["reference", "essay", "author_name", "status", "created_at"]
    list_filter = ["status", "essay"]
    search_fields = ["author_name", "author_email", "body"]
    list_select_related = ["essay"]
    exclude = ["submission_key", "confirmation_nonce", "body_html"]

    # Changes go through the site's own services (rendering, rules, mail).
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
