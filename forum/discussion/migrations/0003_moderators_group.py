from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Moderators"


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make ours now.
    app_config = apps.get_app_config("discussion")
    app_config.models_module = True  # historical app configs have none; create_permissions needs it set
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(Permission.objects.get(content_type__app_label="discussion", codename="moderate_comment"))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("discussion", "0002_alter_comment_options_correction_revision_provenance"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
