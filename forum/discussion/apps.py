from django.apps import AppConfig


class DiscussionConfig(AppConfig):
    name = "forum.discussion"
    label = "discussion"
