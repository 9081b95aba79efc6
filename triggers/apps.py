from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pings.signals import run_reported
        from triggers.reports import on_run_reported

        run_reported.connect(on_run_reported, dispatch_uid="triggers.run_reported")
