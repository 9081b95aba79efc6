"""Roles replace the owner flag: owners stay owners, every other member becomes an admin, so
nobody loses a right they had (before roles, every member could change everything)."""

from typing import Any

from django.db import migrations, models


def flag_to_role(apps: Any, schema_editor: Any) -> None:
    membership = apps.get_model("monitors", "Membership")
    membership.objects.filter(is_owner=True).update(role="owner")
    membership.objects.filter(is_owner=False).update(role="admin")


def role_to_flag(apps: Any, schema_editor: Any) -> None:
    membership = apps.get_model("monitors", "Membership")
    membership.objects.filter(role="owner").update(is_owner=True)


class Migration(migrations.Migration):
    dependencies = [("monitors", "0006_flapping")]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[("owner", "Owner"), ("admin", "Admin"), ("member", "Member"), ("viewer", "Viewer")],
                default="member",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="joined_at",
            field=models.DateTimeField(auto_now_add=True, null=True),
        ),
        migrations.RunPython(flag_to_role, role_to_flag),
        migrations.RemoveField(model_name="membership", name="is_owner"),
    ]
