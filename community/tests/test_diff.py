import pytest

from community.tests.conftest import sample_state

pytestmark = pytest.mark.django_db


def test_it_diffs_two_revisions(client, public_device, add_step):
    add_step(public_device, sample_state(0))
    add_step(public_device, sample_state(1))
    response = client.get("/u/alice/kiosk/diff/", {"a": "0", "b": "1"})
    assert response.status_code == 200
    changes = {c.key: c for c in response.context["changes"]}
    assert set(changes) == {"awconnect/run.json", "awconnect/root.squashfs"}
    run = changes["awconnect/run.json"]
    assert ("-", '  "n": 0,') in [(line.sign, line.text) for line in run.lines]
    assert ("+", '  "n": 1,') in [(line.sign, line.text) for line in run.lines]
    squash = changes["awconnect/root.squashfs"]
    assert (squash.old, squash.new) == (f"{0:064x}", f"{1:064x}")


def test_it_defaults_to_the_newest_revision_and_its_parent(client, public_device, add_step):
    for n in range(3):
        add_step(public_device, sample_state(n))
    response = client.get("/u/alice/kiosk/diff/")
    assert (response.context["a"], response.context["b"]) == ("1", "2")
    assert response.context["a_label"] == "rev 1"


def test_it_diffs_against_another_visible_device(
    client, public_device, add_step, outsider, make_device
):
    add_step(public_device, sample_state(0, "cloudflare"))
    other = make_device(outsider, nick="copy", public=True)
    add_step(other, sample_state(0))
    add_step(other, sample_state(0, "pvr-sdk"))
    response = client.get("/u/alice/kiosk/diff/", {"a": "0", "b": "mallory/copy@1"})
    assert response.status_code == 200
    assert response.context["b_label"] == "mallory/copy@1"
    ops = {c.key: c.op for c in response.context["changes"]}
    assert ops["cloudflare/run.json"] == "removed"
    assert ops["pvr-sdk/run.json"] == "added"
    # Without @rev: the other device's newest revision.
    newest = client.get("/u/alice/kiosk/diff/", {"a": "0", "b": "mallory/copy"})
    assert newest.context["b_step"].rev == 1


def test_it_will_not_diff_against_a_private_device_of_someone_else(
    client, public_device, add_step, outsider, make_device
):
    add_step(public_device)
    secret = make_device(outsider, nick="secret", public=False)
    add_step(secret, sample_state(0, "hidden-platform"))
    response = client.get("/u/alice/kiosk/diff/", {"a": "0", "b": "mallory/secret@0"})
    assert response.status_code == 404
    body = response.content.decode()
    assert "hidden-platform" not in body
    assert "no device mallory/secret" in body
    # Same answer as for a device that does not exist at all.
    assert client.get("/u/alice/kiosk/diff/", {"a": "0", "b": "mallory/nope@0"}).status_code == 404


@pytest.mark.parametrize(
    ("b", "status"),
    [("abc", 400), ("mallory/copy7x@", 400), ("9999999999", 400), ("5", 404), ("-1", 400)],
)
def test_it_answers_bad_revision_specs_with_a_message(client, public_device, add_step, b, status):
    add_step(public_device)
    response = client.get("/u/alice/kiosk/diff/", {"a": "0", "b": b})
    assert response.status_code == status
    assert response.context["error"]
