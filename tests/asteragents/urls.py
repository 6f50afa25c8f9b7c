"""A test-only endpoint that answers with the authenticated principal."""

from dataclasses import asdict

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView


class WhoAmIView(APIView):
    """Uses the project's default authentication and IsAuthenticated, like every API view."""

    def get(self, request):
        return Response(_principal_body(request))

    def post(self, request):
        return Response(_principal_body(request))


def _principal_body(request) -> dict:
    body = asdict(request.user)
    body["org_permissions"] = list(body["org_permissions"])
    body["is_org_admin"] = request.user.is_org_admin
    body["auth_is_raw_token"] = isinstance(request.auth, str) and request.auth.count(".") == 2
    return body


urlpatterns = [path("whoami", WhoAmIView.as_view())]
