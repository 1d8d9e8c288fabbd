"""Operators reach every model of the project through the admin."""

import pytest
from django.apps import apps
from django.contrib import admin

pytestmark = pytest.mark.django_db

# Parts of another row: pack members and waves show inline on their pack and rollout;
# StepObject is the index of the objects a revision names, derived from its state.
INLINE_ONLY = {"packs.PackMember", "packs.Wave", "revisions.StepObject", "webhooks.Attempt"}
# Bookkeeping with nothing a person edits: whether webhooks last said a device was online.
BOOKKEEPING = {"webhooks.Presence"}


def test_every_project_model_has_an_admin_page(admin_client):
    for model in apps.get_models():
        label = model._meta.label
        if model._meta.app_label not in {
            "portal",
            "devices",
            "revisions",
            "packs",
            "community",
            "webhooks",
        }:
            continue
        if label in INLINE_ONLY | BOOKKEEPING:
            continue
        assert model in admin.site._registry, f"{label} has no admin"
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert admin_client.get(url).status_code == 200, url
