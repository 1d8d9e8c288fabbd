"""The /packs API: shapes, the owner's rules, clear JSON errors that change nothing."""

from __future__ import annotations

import pytest

from packs import rollout as ro
from packs.models import Pack, PackMember, Rollout
from packs.tests.helpers import head, revs
from trail import status as st


@pytest.fixture
def alice(api, owner):
    return api.as_(owner)


def create(client, committed, **body):
    body = {"nick": "fleet", **body}
    return committed(client.post, "/packs/", body, format="json")


def test_it_creates_a_pack_with_default_rollout_settings(alice, leader, committed, owner):
    answer = create(alice, committed, leader=leader.nick, description="the lab")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["nick"] == "fleet" and body["description"] == "the lab"
    assert body["leader"] == leader.id and body["leader-nick"] == "leader"
    assert body["owner-nick"] == "alice" and body["prn"] == f"prn:::packs:/{body['id']}"
    assert (body["canary-share"], body["wave-size"]) == (0.0, 0)
    assert (body["failure-threshold"], body["wave-timeout"]) == (0.2, 1800)
    assert body["members"][0]["role"] == "leader" and body["follower-count"] == 0
    # The leader's factory revision is the first rollout (nobody to post to yet).
    body = alice.get(f"/packs/{body['id']}").json()
    assert body["rollout"] is None
    assert body["past-rollouts"][0]["status"] == ro.COMPLETED
    assert body["rollout-status"] == ro.COMPLETED


def test_it_answers_with_and_without_a_trailing_slash(alice, leader, committed):
    answer = committed(
        alice.post, "/packs", {"nick": "ab", "leader": leader.id, "wave-size": 3}, format="json"
    )
    assert answer.status_code == 200
    pack_id = answer.json()["id"]
    assert alice.get(f"/packs/{pack_id}/").json()["wave-size"] == 3
    assert alice.get(f"/packs/{pack_id}").status_code == 200
    assert [p["id"] for p in alice.get("/packs/").json()] == [pack_id]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("failure-threshold", 1.5, "max_value"),
        ("failure-threshold", -0.1, "min_value"),
        ("canary-share", 2, "max_value"),
        ("wave-size", -1, "min_value"),
        ("wave-timeout", 5, "min_value"),
        ("failure-threshold", "lots", "invalid"),
    ],
)
def test_it_refuses_rollout_settings_out_of_range(alice, leader, committed, field, value, code):
    answer = create(alice, committed, leader=leader.id, **{field: value})
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == code and field in body["fields"]
    assert body["error"].startswith(f"{field}: ")
    assert not Pack.objects.exists()


def test_it_refuses_a_leader_that_is_not_yours(alice, committed, make_device, outsider):
    public = make_device(outsider, nick="theirs", public=True)
    hidden = make_device(outsider, nick="hidden")
    answer = create(alice, committed, leader=public.id)
    assert answer.status_code == 403 and answer.json()["code"] == "owner-only"
    answer = create(alice, committed, leader=hidden.id)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert not Pack.objects.exists()


def test_it_refuses_a_taken_nick_and_a_missing_leader(alice, leader, committed):
    assert create(alice, committed, leader=leader.id).status_code == 200
    answer = create(alice, committed, leader=leader.id)
    assert answer.status_code == 409 and answer.json()["code"] == "nick-taken"
    answer = committed(alice.post, "/packs/", {"nick": "other"}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "required"
    assert Pack.objects.count() == 1


def test_packs_are_for_people(api, leader, committed):
    assert api.as_(None).get("/packs/").status_code == 401
    answer = api.as_(leader).get("/packs/")
    assert answer.status_code == 403 and answer.json()["code"] == "person-only"


@pytest.fixture
def pack(make_pack, leader):
    return make_pack(leader, canary_share=0.5, wave_size=1, failure_threshold=0.0)


def test_put_adds_a_follower_once(alice, pack, make_member, committed):
    device = make_member("kiosk")
    url = f"/packs/{pack.id}/followers/{device.nick}"
    first = committed(alice.put, url)
    assert first.status_code == 200, first.json()
    member = first.json()
    assert member["id"] == device.id and member["role"] == "follower"
    assert member["running-rev"] == 0 and member["head-status"] == st.DONE
    again = committed(alice.put, url + "/")
    assert again.status_code == 200 and again.json()["time-joined"] == member["time-joined"]
    assert PackMember.objects.filter(pack=pack).count() == 1
    assert alice.get(url).json()["id"] == device.id


def test_it_refuses_the_leader_as_its_own_follower(alice, pack, committed):
    answer = committed(alice.put, f"/packs/{pack.id}/followers/{pack.leader_id}")
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "leader leads this pack; a device cannot follow itself",
        "code": "own-leader",
    }
    assert not PackMember.objects.exists()


def test_it_refuses_a_follower_owned_by_someone_else(alice, pack, make_device, outsider, committed):
    public = make_device(outsider, nick="theirs", public=True)
    answer = committed(alice.put, f"/packs/{pack.id}/followers/{public.id}")
    assert answer.status_code == 403 and answer.json()["code"] == "owner-only"
    hidden = make_device(outsider, nick="hidden")
    answer = committed(alice.put, f"/packs/{pack.id}/followers/{hidden.id}")
    assert answer.status_code == 404
    assert not PackMember.objects.exists()


def test_a_device_follows_at_most_one_pack(alice, pack, make_pack, make_member, committed):
    other = make_pack(make_member("other-leader"), nick="other")
    device = make_member("kiosk")
    assert committed(alice.put, f"/packs/{pack.id}/followers/{device.id}").status_code == 200
    answer = committed(alice.put, f"/packs/{other.id}/followers/{device.id}")
    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "already-following" and body["pack"] == pack.id
    assert "already follows pack fleet" in body["error"]
    assert PackMember.objects.get(device=device).pack_id == pack.id


def test_it_refuses_a_loop_of_packs(alice, make_pack, make_member, committed):
    a, b, c = (make_member(nick, hardware=False) for nick in ("a", "b", "c"))
    make_pack(a, [b], nick="one")  # a → b
    make_pack(b, [c], nick="two")  # b → c
    three = make_pack(c, nick="three")
    answer = committed(alice.put, f"/packs/{three.id}/followers/{a.id}")  # c → a: a loop
    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "pack-loop"
    assert "a → b → c → a" in body["error"]
    assert not PackMember.objects.filter(pack=three).exists()


def test_it_refuses_a_new_leader_that_would_close_a_loop(alice, make_pack, make_member, committed):
    a, b, c = (make_member(nick, hardware=False) for nick in ("a", "b", "c"))
    one = make_pack(a, [b], nick="one")  # a → b
    two = make_pack(c, nick="two")
    committed(alice.put, f"/packs/{two.id}/followers/{a.id}")  # c → a
    answer = committed(alice.patch, f"/packs/{two.id}", {"leader": b.id}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "pack-loop"
    answer = committed(alice.patch, f"/packs/{one.id}", {"leader": b.id}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "own-leader"
    assert Pack.objects.get(pk=two.pk).leader_id == c.id
    assert Pack.objects.get(pk=one.pk).leader_id == a.id


def test_patch_changes_settings_and_refuses_bad_ones(alice, pack, committed):
    url = f"/packs/{pack.id}"
    answer = committed(alice.patch, url, {"failure-threshold": 1.01}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "max_value"
    answer = committed(alice.patch, url, {"failure-threshold": 0.3, "nick": "lab"}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["failure-threshold"], answer.json()["nick"]) == (0.3, "lab")
    assert alice.get("/packs/lab").json()["id"] == pack.id


def test_delete_removes_a_follower_and_then_the_pack(alice, pack, make_member, committed):
    device = make_member()
    committed(alice.put, f"/packs/{pack.id}/followers/{device.id}")
    answer = committed(alice.delete, f"/packs/{pack.id}/followers/{device.id}")
    assert answer.status_code == 200 and answer.json()["id"] == device.id
    answer = committed(alice.delete, f"/packs/{pack.id}/followers/{device.id}")
    assert answer.status_code == 404
    answer = committed(alice.delete, f"/packs/{pack.id}")
    assert answer.status_code == 200 and answer.json()["nick"] == "fleet"
    assert not Pack.objects.exists() and not Rollout.objects.exists()


def test_someone_elses_pack_is_absent(api, outsider, pack, make_member, committed):
    mallory = api.as_(outsider)
    for method, url in [
        ("get", f"/packs/{pack.id}"),
        ("patch", f"/packs/{pack.id}"),
        ("delete", f"/packs/{pack.id}"),
        ("get", f"/packs/{pack.id}/rollouts"),
        ("put", f"/packs/{pack.id}/followers/whatever"),
    ]:
        answer = committed(getattr(mallory, method), url, {}, format="json")
        assert answer.status_code == 404, (method, url)
        assert answer.json()["code"] == "not_found"
    assert mallory.get("/packs/").json() == []
    assert Pack.objects.filter(pk=pack.pk).exists()


def test_the_pack_shows_members_counts_and_the_rollout_in_progress(
    alice, pack, make_member, post, report, committed
):
    followers = [make_member(f"f{i}") for i in range(3)]
    for device in followers:
        committed(alice.put, f"/packs/{pack.id}/followers/{device.id}")
    step = post(pack.leader, 2)
    report(head(followers[0]), st.DOWNLOADING)

    body = alice.get(f"/packs/{pack.id}").json()
    assert [m["nick"] for m in body["members"]] == ["leader", "f0", "f1", "f2"]
    assert body["members"][1]["head-status"] == st.DOWNLOADING
    assert body["members"][1]["running-rev"] == 0 and body["members"][1]["head-rev"] == 1
    assert body["counts"] == {st.DOWNLOADING: 1, st.NEW: 1, st.DONE: 1}  # f2: not yet
    rollout = body["rollout"]
    assert rollout["status"] == ro.RUNNING and rollout["leader-rev"] == step.rev
    assert rollout["current-wave"] == 1
    assert [w["kind"] for w in rollout["waves"]] == ["canary", "batch"]  # 2 of 3, then 1
    assert rollout["waves"][0]["counts"] == {"ok": 0, "failed": 0, "cancelled": 0, "waiting": 2}
    assert rollout["waves"][0]["deadline"] is not None
    assert rollout["waves"][1]["deadline"] is None
    assert body["past-rollouts"][0]["leader-rev"] == 0


def test_the_owner_resumes_aborts_and_reverts_through_the_api(
    alice, pack, make_member, post, report, committed
):
    followers = [make_member(f"f{i}") for i in range(4)]
    for device in followers:
        committed(alice.put, f"/packs/{pack.id}/followers/{device.id}")
    post(pack.leader, 2)
    report(head(followers[0]), st.ERROR)
    rollouts = alice.get(f"/packs/{pack.id}/rollouts").json()
    assert rollouts[0]["status"] == ro.PAUSED and rollouts[1]["status"] == ro.COMPLETED
    rollout_id = rollouts[0]["id"]
    url = f"/packs/{pack.id}/rollouts/{rollout_id}"
    assert "over the threshold of 0%" in rollouts[0]["status-msg"]

    answer = committed(alice.post, f"{url}/abort/")
    assert answer.status_code == 200 and answer.json()["status"] == ro.ABORTED
    again = committed(alice.post, f"{url}/resume")
    assert again.status_code == 409
    assert again.json() == {
        "error": "cannot resume a rollout that is aborted: only a paused rollout can be resumed",
        "code": "rollout-aborted",
    }

    answer = committed(alice.post, f"{url}/revert", {"wave": 1}, format="json")
    assert answer.status_code == 200
    detail = answer.json()
    assert detail["status"] == ro.REVERTED
    assert [d["kind"] for d in detail["deliveries"]].count("release") == 4
    canary = next(d for d in detail["deliveries"] if d["device"] == followers[0].id)
    assert canary["progress-status"] == st.ERROR and canary["outcome"] == "failed"
    assert canary["previous-rev"] == 0 and canary["rev"] == 1
    assert revs(followers[0]) == [0, 1]  # it failed and went back by itself: nothing to revert

    bad = committed(alice.post, f"{url}/revert", {"wave": 0}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "min_value"
    missing = committed(alice.post, f"{url}/revert", {"wave": 9}, format="json")
    assert missing.status_code == 404 and missing.json()["code"] == "no-such-wave"
    assert alice.get(f"/packs/{pack.id}/rollouts/ffffffffffffffffffffffff").status_code == 404


def test_listing_packs_takes_the_same_queries_for_any_number(
    alice, make_pack, make_member, django_assert_num_queries
):
    make_pack(make_member("l1"), [make_member()], nick="one")
    with django_assert_num_queries(2):  # the account, the packs: nothing per pack
        assert len(alice.get("/packs/").json()) == 1
    for n in range(3):
        make_pack(make_member(f"l{n + 2}"), [make_member(), make_member()], nick=f"p{n}")
    with django_assert_num_queries(2):
        assert len(alice.get("/packs/").json()) == 4


def test_reading_a_pack_takes_the_same_queries_for_any_number_of_members(
    alice, pack, make_member, committed, post, django_assert_num_queries
):
    committed(alice.put, f"/packs/{pack.id}/followers/{make_member().id}")
    post(pack.leader, 2)
    with django_assert_num_queries(11):
        alice.get(f"/packs/{pack.id}")
    for _ in range(5):
        committed(alice.put, f"/packs/{pack.id}/followers/{make_member().id}")
    post(pack.leader, 3)
    with django_assert_num_queries(11):
        body = alice.get(f"/packs/{pack.id}").json()
    assert len(body["members"]) == 7


def test_every_pack_endpoint_is_in_the_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(public=True)
    paths = schema["paths"]
    assert set(paths["/packs"]) == {"get", "post"}
    assert set(paths["/packs/{pack}"]) == {"get", "patch", "delete"}
    assert set(paths["/packs/{pack}/followers/{device}"]) == {"get", "put", "delete"}
    for action in ("resume", "abort", "revert"):
        assert set(paths[f"/packs/{{pack}}/rollouts/{{rollout}}/{action}"]) == {"post"}
    assert "/packs/" not in paths
    create = paths["/packs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["$ref"].endswith("/PackCreateRequest")
    fields = schema["components"]["schemas"]["PackCreateRequest"]["properties"]
    assert fields["failure-threshold"]["maximum"] == 1.0
    assert set(schema["components"]["schemas"]["PackCreateRequest"]["required"]) == {
        "nick",
        "leader",
    }
    detail = schema["components"]["schemas"]["PackDetail"]["properties"]
    assert {"members", "counts", "rollout", "past-rollouts"} <= set(detail)


def test_the_schema_of_the_pack_views_generates_without_warnings(capsys):
    from django.core.management import call_command

    call_command("spectacular", "--file", "/dev/null")
    err = capsys.readouterr().err
    assert "packs" not in err.lower() and "Pack" not in err and "Rollout" not in err


def test_listing_rollouts_takes_the_same_queries_for_any_number(
    alice, pack, make_member, committed, post, django_assert_num_queries
):
    committed(alice.put, f"/packs/{pack.id}/followers/{make_member().id}")
    post(pack.leader, 2)
    # account, pack, refresh (a lost rollout, the running one, its wave, stale deliveries),
    # rollouts, tallies, waves
    with django_assert_num_queries(9):
        assert len(alice.get(f"/packs/{pack.id}/rollouts").json()) == 2
    for version in range(3, 6):
        post(pack.leader, version)
    with django_assert_num_queries(9):
        rollouts = alice.get(f"/packs/{pack.id}/rollouts?limit=3").json()
    assert [r["leader-rev"] for r in rollouts] == [4, 3, 2]
    assert [r["status"] for r in rollouts] == [ro.RUNNING, ro.SUPERSEDED, ro.SUPERSEDED]
