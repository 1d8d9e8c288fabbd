"""WebSocket routes: live pages and the device socket (gathered in trailhub/routing.py)."""

from django.urls import path, re_path

from live import consumers

websocket_urlpatterns = [
    path("ws/devices/<str:device_id>/", consumers.DeviceConsumer.as_asgi()),
    path("ws/dashboard/", consumers.DashboardConsumer.as_asgi()),
    re_path(r"^ws/device/?$", consumers.AgentConsumer.as_asgi()),
]
