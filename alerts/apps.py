from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from alerts.delivery.metrics import DeliveryCollector
        from monitors.metrics import EXTRA_COLLECTORS

        if DeliveryCollector not in EXTRA_COLLECTORS:
            EXTRA_COLLECTORS.append(DeliveryCollector)
