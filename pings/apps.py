from django.apps import AppConfig


class PingsConfig(AppConfig):
    name = "pings"
    default_auto_field = "django.db.models.BigAutoField"
