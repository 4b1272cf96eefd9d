"""One application error type, rendered as {"message": ..., "extra": {...}} with a 4xx status by the
API, and NotFound, which HTML views answer with the site's 404 page (NotFoundMiddleware).

Every error answer under /api/ has that JSON body, whoever makes it: DRF views through
api_exception_handler, and what Django answers before or without a view (a path that matches no
route, a request Django refuses as malformed, a server error) through the handlers the URL conf
names (bad_request, permission_denied, page_not_found, server_error)."""
from __future__ import annotations

import errno
import logging
import sys

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

# The code of the ValidationError an input serializer raises for a field the operation does not
# take (gallery.api.inputs); the answer's message names all of them.
UNKNOWN_FIELD = "unknown_field"
API_PREFIX = "/api/"
# What a write that found no room raises: the disk (or the user's quota on it) is full.
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
HTTP_INSUFFICIENT_STORAGE = 507

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """An error a user caused and can fix; `message` is shown to them as it is."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, extra: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if status_code is not None:
            self.status_code = status_code


class NotFound(ApplicationError):
    """What was asked for does not exist, or is not shown to this user. Selectors and services raise
    it instead of Http404, so that they do not depend on being called from a view."""

    status_code = status.HTTP_404_NOT_FOUND


class NotFoundMiddleware(MiddlewareMixin):
    """A NotFound that reaches an HTML view's caller becomes Django's 404 page, as Http404 would.
    (DRF views never let it through: api_exception_handler renders it as a JSON 404.)"""

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        return None


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        # A model's own validation (full_clean in a service) speaks to the user too.
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response({"message": _first_message(fields), "extra": {"fields": fields}},
                        status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        unknown = _unknown_fields(exc)
        message = (ngettext("Unknown field: %(names)s", "Unknown fields: %(names)s", len(unknown))
                   % {"names": ", ".join(unknown)}) if unknown else _first_message(exc.detail)
        response.data = {"message": message, "extra": {"fields": exc.detail}}
    elif isinstance(exc, exceptions.Throttled):
        response.data = {"message": str(exc.detail), "extra": {"wait_seconds": exc.wait}}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"message": str(response.data["detail"]), "extra": {}}
    return response


def _unknown_fields(exc: exceptions.ValidationError) -> list[str]:
    codes = exc.get_codes()
    if not isinstance(codes, dict):
        return []
    return [name for name, code in codes.items() if code == [UNKNOWN_FIELD]]


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _first_message(value)
            return text if key == "non_field_errors" else f"{key}: {text}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


# --- what Django answers under /api/ without a DRF view ------------------------------------------

def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _json_error(message: str, status_code: int) -> JsonResponse:
    return JsonResponse({"message": message, "extra": {}}, status=status_code)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    """A request Django refused before any view read it (too many fields, a malformed body...)."""
    if _is_api(request):
        return _json_error(_("The request is malformed or too large."), 400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if _is_api(request):
        return _json_error(_("You do not have permission to do this."), 403)
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    """A path under /api/ that matches no route answers JSON, as the API's own 404s do."""
    if _is_api(request):
        return _json_error(_("No such API endpoint: %(path)s") % {"path": request.path}, 404)
    return defaults.page_not_found(request, exception, template_name)


def disk_full_message() -> str:
    return _("The server is out of disk space and cannot take this file now; nothing was kept. "
             "Please try again later.")


def disk_full_error() -> ApplicationError:
    return ApplicationError(disk_full_message(), status_code=HTTP_INSUFFICIENT_STORAGE)


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or an error it was raised from, is a write that found the disk full."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    # Called while the error is being handled: a full disk met before any view ran (Django writing a
    # large upload to its temporary file while parsing the body) is a 507 saying so, not a 500.
    if is_disk_full(sys.exc_info()[1]):
        logger.error("Out of disk space while reading a request to %s", request.path)
        if _is_api(request):
            return _json_error(disk_full_message(), HTTP_INSUFFICIENT_STORAGE)
        page = render_to_string("507.html", {"message": disk_full_message()})
        return HttpResponse(page, status=HTTP_INSUFFICIENT_STORAGE)
    if _is_api(request):
        return _json_error(_("Something went wrong on the server; try again later."), 500)
    return defaults.server_error(request, template_name)
