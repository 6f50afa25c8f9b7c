from django.apps import AppConfig


class AsteragentsConfig(AppConfig):
    name = "asteragents"
    verbose_name = "Tenancy"
