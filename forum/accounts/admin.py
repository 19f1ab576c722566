from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = [*BaseUserAdmin.fieldsets, ("Signature", {"fields": ["display_name", "affiliation", "orcid"]})]
    list_display = ["email", "display_name", "affiliation", "is_staff"]
    search_fields = ["email", "display_name", "affiliation"]
