"""API key prefixes become how the key begins: "2b1c5d16" is stored as "vgl_2b1c5d16"."""

from django.db import migrations
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

KEY_PREFIX = "vgl_"


def add_key_prefix(apps, schema_editor):
    ApiKey = apps.get_model("monitors", "ApiKey")
    ApiKey.objects.exclude(prefix__startswith=KEY_PREFIX).update(prefix=Concat(Value(KEY_PREFIX), F("prefix")))


def drop_key_prefix(apps, schema_editor):
    ApiKey = apps.get_model("monitors", "ApiKey")
    ApiKey.objects.filter(prefix__startswith=KEY_PREFIX).update(prefix=Substr("prefix", len(KEY_PREFIX) + 1))


class Migration(migrations.Migration):
    dependencies = [
        ("monitors", "0003_monitor_healthchecks_options"),
    ]

    operations = [migrations.RunPython(add_key_prefix, drop_key_prefix)]
