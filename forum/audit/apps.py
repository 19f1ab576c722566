from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "forum.audit"
    label = "audit"
    verbose_name = "Audit log"
