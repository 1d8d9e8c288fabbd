from portal.urlhelpers import api_path
from webhooks.api import views

HOOK = "webhooks/<str:webhook_id>"

urlpatterns = [
    *api_path("webhooks", views.WebhooksView.as_view(), name="api-webhooks"),
    *api_path(HOOK, views.WebhookView.as_view(), name="api-webhook"),
    *api_path(f"{HOOK}/deliveries", views.DeliveriesView.as_view(), name="api-webhook-deliveries"),
    *api_path(
        f"{HOOK}/deliveries/<str:number>/redeliver",
        views.RedeliverView.as_view(),
        name="api-webhook-redeliver",
    ),
]
