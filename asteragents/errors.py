"""One error shape for the API: {"code", "message", "parameter"?}, never a traceback."""

import logging

from django.db import DatabaseError
from django.http import JsonResponse
from rest_framework import exceptions, status

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with a machine-readable code and, where one is to blame, the parameter."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "Bad request."

    def __init__(self, message=None, *, code=None, parameter=None, status_code=None):
        super().__init__(detail=message, code=code)
        self.parameter = parameter
        if status_code is not None:
            self.status_code = status_code


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "The service is temporarily unavailable; try again shortly."


# DRF's generic exceptions, given the codes this API documents.
_DRF_CODES = {
    exceptions.NotAuthenticated: "missing_token",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "throttled",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "parse_error",
}


def error_body(code: str, message: str, parameter: str | None = None) -> dict:
    body = {"code": code, "message": message}
    if parameter is not None:
        body["parameter"] = parameter
    return body


def _code_of(exc: exceptions.APIException) -> str:
    """The code the raiser gave, else this API's name for DRF's generic exception."""
    code = getattr(exc.detail, "code", None)
    if isinstance(code, str) and code != exc.default_code:
        return code
    return _DRF_CODES.get(type(exc), exc.default_code)


def _message_of(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, list | dict):
        # Serializer errors: the first message of the first field.
        first = next(iter(detail.values())) if isinstance(detail, dict) else detail
        while isinstance(first, list | dict):
            first = next(iter(first.values())) if isinstance(first, dict) else first[0]
        return str(first)
    return str(detail)


def api_exception_handler(exc, context):
    """DRF's handler (it sets WWW-Authenticate and Retry-After), reshaped to one body."""
    # Imported here: rest_framework.views loads the authentication classes, which raise
    # this module's errors, so a module-level import would be circular.
    from rest_framework.views import exception_handler

    if isinstance(exc, DatabaseError):
        logger.exception("database error while serving %s", context.get("view"))
        exc = ServiceUnavailable(
            "The database is unavailable or the query took too long; try again shortly.",
            code="database_unavailable",
        )
    response = exception_handler(exc, context)
    if response is None:
        return None  # Django's handler500 answers (JSON, see server_error).
    parameter = getattr(exc, "parameter", None)
    if parameter is None and isinstance(exc, exceptions.ValidationError):
        if isinstance(exc.detail, dict) and exc.detail:
            parameter = next(iter(exc.detail))
    response.data = error_body(_code_of(exc), _message_of(exc), parameter)
    return response


def server_error(request, *args, **kwargs):
    """handler500: JSON with no traceback or SQL."""
    return JsonResponse(
        error_body("server_error", "Internal server error."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def not_found(request, exception=None, *args, **kwargs):
    """handler404: JSON, so an API client never parses an HTML page."""
    return JsonResponse(
        error_body("not_found", f"No endpoint at {request.path}."),
        status=status.HTTP_404_NOT_FOUND,
    )
