from django.apps import AppConfig


class MonitorsConfig(AppConfig):
    name = "monitors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the Bearer key scheme with drf-spectacular.
        from django.contrib.auth.signals import user_logged_in

        from monitors import api_scheme  # noqa: F401
        from monitors.sign_ins import sign_in_record

        user_logged_in.connect(sign_in_record, dispatch_uid="vigil_sign_in_record")
