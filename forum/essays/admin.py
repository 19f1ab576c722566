from django.contrib import admin

from .models import Essay


@admin.register(Essay)
class EssayAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "status", "published_at", "comments_open"]
    list_filter = ["status", "comments_open"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
    fields = ["title", "slug", "author", "status", "published_at", "comments_open", "summary", "body"]

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk}
