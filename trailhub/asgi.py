"""ASGI entry point: HTTP (pages and API) and WebSockets, in one server."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trailhub.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from portal.bodies import limit_bodies  # noqa: E402
from portal.ws_auth import WebSocketAuthMiddleware  # noqa: E402
from revisions.api.asgi import guard_uploads  # noqa: E402
from trailhub.routing import websocket_urlpatterns  # noqa: E402
from trailhub.warm import warm  # noqa: E402

warm()


def _origin_checked(app):
    """Check the Origin of browser sockets; let devices, which send none, through.

    Browsers always send Origin on a WebSocket, and a cross-site page could
    otherwise ride the session cookie. Devices send no Origin and authenticate
    with a bearer token, which such a page cannot forge.
    """
    checked = AllowedHostsOriginValidator(app)

    async def route(scope, receive, send):
        if any(name == b"origin" for name, _ in scope.get("headers", [])):
            return await checked(scope, receive, send)
        return await app(scope, receive, send)

    return route


application = ProtocolTypeRouter(
    {
        # A body over its path's limit, or a bad upload to a signed URL, is
        # refused before Django reads (and spools) it.
        "http": limit_bodies(guard_uploads(django_asgi_app)),
        "websocket": _origin_checked(WebSocketAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
