"""Packs moved from the devices app to their own: a database made before the move keeps them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("devices", "0003_packs"), ("revisions", "0003_progress_reports"), ("packs", None)]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_keeps_its_packs():
    old = migrate(BEFORE)
    User = old.get_model("portal", "User")
    Device = old.get_model("devices", "Device")
    owner = User.objects.create(username="alice", email="alice@example.com")
    leader = Device.objects.create(id="a" * 24, owner=owner, nick="leader", has_hardware=False)
    follower = Device.objects.create(id="b" * 24, owner=owner, nick="follower")
    pack = old.get_model("devices", "Pack").objects.create(
        id="c" * 24, owner=owner, nick="fleet", leader=leader, wave_size=3
    )
    old.get_model("devices", "PackMember").objects.create(pack=pack, device=follower)
    ContentType = old.get_model("contenttypes", "ContentType")
    ContentType.objects.get_or_create(app_label="devices", model="pack")

    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate(leaf)

    from packs.models import Pack

    moved = Pack.objects.get(pk="c" * 24)
    assert (moved.nick, moved.leader_id, moved.wave_size) == ("fleet", "a" * 24, 3)
    assert list(moved.members.values_list("device_id", flat=True)) == ["b" * 24]
    from django.contrib.contenttypes.models import ContentType as CurrentContentType

    assert CurrentContentType.objects.filter(app_label="packs", model="pack").exists()
    assert not CurrentContentType.objects.filter(app_label="devices", model="pack").exists()
