"""Errors of the API are JSON: ``{"detail": ..., "errors": {field: [messages]}}``.

DRF already answers its own exceptions as JSON; this handler also turns Django's
``ValidationError`` (raised by services and model ``full_clean``) into a 400 with field names,
and database integrity errors (a constraint the request violates) into a 409, instead of a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(
            {"detail": "Invalid input.", "errors": errors}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, IntegrityError):
        return Response(
            {"detail": "This conflicts with data already stored; nothing was changed."},
            status=status.HTTP_409_CONFLICT,
        )
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": "Invalid input.", "errors": response.data}
    elif response is not None and isinstance(response.data, list):
        response.data = {"detail": "Invalid input.", "errors": {"non_field_errors": response.data}}
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """404 for ``/api/`` paths that match no route."""
    return JsonResponse({"detail": "Not found."}, status=404)
