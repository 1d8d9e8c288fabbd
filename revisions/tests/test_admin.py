"""The admin shows trails, steps and objects, read-only where services own the rules."""

from __future__ import annotations

import pytest

from revisions import services
from revisions.models import Blob, OwnerObject, Step, Trail

SPEC = "pantavisor-service-system@1"


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", [Trail, Step, OwnerObject, Blob])
def test_it_lists_and_shows_each_model(admin_client, owner, device, trail_of, give_objects, model):
    give_objects(owner, ["a" * 64])
    trail = trail_of(device, {"#spec": SPEC})
    services.post_step(trail, {"#spec": SPEC, "k.img": "a" * 64})
    name = model._meta.model_name
    listing = admin_client.get(f"/admin/revisions/{name}/")
    assert listing.status_code == 200
    obj = model.objects.first()
    page = admin_client.get(f"/admin/revisions/{name}/{obj.pk}/change/")
    assert page.status_code == 200
    assert admin_client.get(f"/admin/revisions/{name}/add/").status_code == 403


def test_it_never_deletes_stored_bytes_from_the_admin(admin_client, owner, give_objects):
    give_objects(owner, ["b" * 64])
    answer = admin_client.post(f"/admin/revisions/blob/{'b' * 64}/delete/", {"post": "yes"})
    assert answer.status_code == 403
    assert Blob.objects.exists()


def test_it_keeps_a_steps_state_and_status_read_only(admin_client, owner, device, trail_of):
    trail = trail_of(device, {"#spec": SPEC})
    step = services.post_step(trail, {"#spec": SPEC})
    admin_client.post(
        f"/admin/revisions/step/{step.pk}/change/",
        {"commit_msg": "edited", "meta": "{}", "status": "DONE", "state": "{}"},
    )
    step.refresh_from_db()
    assert step.commit_msg == "edited"  # the form saved…
    assert (step.status, step.state) == ("NEW", {"#spec": SPEC})  # …and ignored the rest
