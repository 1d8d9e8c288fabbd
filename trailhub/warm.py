"""What a server process would otherwise do in its first request, done when it starts.

A fresh worker's first request imported every view, serializer and form (the
URLconf), built the resolver's reverse table and imported DRF's renderers,
parsers and authentication classes: 100 ms or more, paid by whichever device
or person came first to each worker (docs/benchmarks.md, 5). The WSGI and ASGI
entry points call :func:`warm` once Django is set up.
"""

from django.urls import get_resolver
from rest_framework.settings import api_settings

_CLASSES = (
    "DEFAULT_RENDERER_CLASSES",
    "DEFAULT_PARSER_CLASSES",
    "DEFAULT_AUTHENTICATION_CLASSES",
    "DEFAULT_PERMISSION_CLASSES",
    "DEFAULT_THROTTLE_CLASSES",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS",
)


def warm() -> None:
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - imports the URLconf: every view
    resolver.reverse_dict  # noqa: B018 - builds the table reverse() reads
    for name in _CLASSES:
        getattr(api_settings, name)
