"""WSGI entry point (gunicorn asteragents.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asteragents.settings")

application = get_wsgi_application()
