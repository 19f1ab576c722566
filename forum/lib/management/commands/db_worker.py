"""`manage.py db_worker` is the site's worker too: django-tasks-db's own has no heartbeat, so beside
ours its long tasks would be taken back and run twice. (forum.lib comes before django_tasks_db in
INSTALLED_APPS, so this command is the one found.)"""

from .worker import Command  # noqa: F401
