"""WebSocket routes of every app, gathered in one list."""

from live.routing import websocket_urlpatterns as live_routes

websocket_urlpatterns: list = [*live_routes]
