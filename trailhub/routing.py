"""WebSocket routes of every app, gathered in one list."""

from community.routing import websocket_urlpatterns as community_routes

websocket_urlpatterns: list = [*community_routes]
