import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitorsite.settings")
site = get_wsgi_application()

from monitorsite.ping_handler import PingHandler, SiteApplication  # noqa: E402  (after setup)

application = SiteApplication(site, PingHandler())
