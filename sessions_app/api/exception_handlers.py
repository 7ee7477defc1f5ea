"""One error envelope for the whole API: {"message", "code", "extra"}, field errors under extra.fields."""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from sessions_app.exceptions import PortalError
from sessions_app.upstream import errors

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def _envelope(message: str, code: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"message": message, "code": code, "extra": extra or {}}


def _upstream_response(exc: errors.UpstreamError) -> Response:
    """The error's own status and code (class attributes of the UpstreamError family), with VB365's status."""
    logger.warning("Upstream failure answered to an API client: %r", exc)
    extra: dict[str, Any] = {"upstream_status": exc.status_code}
    if exc.error_code:
        extra["upstream_error_code"] = exc.error_code
    response = Response(_envelope(exc.message, exc.code, extra), status=exc.http_status)
    if exc.http_status == status.HTTP_503_SERVICE_UNAVAILABLE:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {key: [str(item) for item in (value if isinstance(value, list) else [value])]
                for key, value in detail.items()}
    return {"non_field_errors": [str(item) for item in (detail if isinstance(detail, list) else [detail])]}


def portal_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.UpstreamError):
        return _upstream_response(exc)
    if isinstance(exc, PortalError):
        return Response(_envelope(exc.message, exc.code, exc.extra), status=exc.http_status)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = _envelope("The request is not valid.", "invalid", {"fields": _field_errors(exc.detail)})
    elif isinstance(exc, drf_exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (dict, list)) else "The request failed."
        response.data = _envelope(message, str(exc.default_code if not hasattr(detail, "code") else detail.code))
    return response
