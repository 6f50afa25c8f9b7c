"""Clerk session-token authentication (being written; see issue 3)."""

from rest_framework.authentication import BaseAuthentication


class ClerkSessionAuthentication(BaseAuthentication):
    def authenticate(self, request):
        return None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
