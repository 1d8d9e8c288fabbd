from django.urls import path

from webhooks import views

urlpatterns = [
    path("", views.webhooks, name="webhooks"),
    path(
        "<str:webhook_id>/deliveries/<str:number>/redeliver/",
        views.redeliver,
        name="webhook-redeliver",
    ),
]
