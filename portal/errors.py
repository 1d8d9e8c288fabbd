"""JSON errors for the API: ``{"error": "...", "code": "..."}`` with the right status."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response


class DomainError(Exception):
    """A service's refusal: a message for people, a machine-readable code, the HTTP
    status it becomes on the API, and extra members of the JSON body.

    Services raise it (and its subclasses); the API maps it to JSON in
    :func:`exception_handler`, the pages to a form error or a message with
    :func:`add_to_form`.
    """

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(
        self, message: str, code: str = "invalid", status_code: int | None = None, **extra
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra


class Forbidden(DomainError):
    """403: the caller may see the thing but not do this to it."""

    status_code = status.HTTP_403_FORBIDDEN

    def __init__(self, message: str, code: str = "forbidden"):
        super().__init__(message, code=code)


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT

    def __init__(self, message: str, code: str = "conflict", **extra):
        super().__init__(message, code=code, **extra)


#: The form field a refusal's code is about; the others are the whole form's.
FORM_FIELDS = {"nick-taken": "nick"}


def add_to_form(form, exc: DomainError, field: str | None = None) -> None:
    """Show a service's refusal on ``form``: on ``field``, on the field its code is
    about when the form has one, otherwise above the form."""
    field = field or FORM_FIELDS.get(exc.code)
    form.add_error(field if field in form.fields else None, exc.message)


def _as_api_exception(exc: DomainError) -> exceptions.APIException:
    api = exceptions.APIException(detail=exc.message, code=exc.code)
    api.status_code = exc.status_code
    api.extra = exc.extra
    return api


def _flatten(detail, prefix: str = "") -> list[str]:
    """Turn DRF's nested validation detail into readable 'field: message' lines."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            lines += _flatten(value, f"{prefix}{name}: " if name else prefix)
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    return [f"{prefix}{detail}"]


def _first_code(detail) -> str:
    if isinstance(detail, dict):
        return _first_code(next(iter(detail.values()), "invalid"))
    if isinstance(detail, list):
        return _first_code(detail[0]) if detail else "invalid"
    return getattr(detail, "code", None) or "invalid"


def exception_handler(exc, context):
    # Imported here: rest_framework.views reads DEFAULT_AUTHENTICATION_CLASSES when it
    # is imported, and portal.auth (one of them) imports this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DomainError):
        exc = _as_api_exception(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else "not found")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = _as_api_exception(
            DomainError(f"request body is over the limit of {limit} bytes", "too-large", 413)
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    body = {"error": "; ".join(_flatten(detail)), "code": _first_code(detail)}
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        body["fields"] = detail
    body.update(getattr(exc, "extra", {}))
    response.data = body
    return response


def json_error(message: str, code: str, status_code: int) -> JsonResponse:
    return JsonResponse({"error": message, "code": code}, status=status_code)


def error_response(message: str, code: str, status_code: int) -> Response:
    return Response({"error": message, "code": code}, status=status_code)
