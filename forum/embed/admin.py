from django.contrib import admin

from .models import EmbedOrigin


@admin.register(EmbedOrigin)
class EmbedOriginAdmin(admin.ModelAdmin):
    list_display = ("origin", "owner", "note", "created_at")
    search_fields = ("origin", "note")
    autocomplete_fields = ("owner",)
