import pytest

from community.models import Fork
from community.tests.conftest import sample_state
from trail import status as st

pytestmark = pytest.mark.django_db

PAGES = ["", "revisions/", "revisions/0/", "diff/?a=0&b=0"]


@pytest.mark.parametrize("subpage", PAGES)
def test_a_private_device_is_a_404_for_others(client, owner, outsider, device, add_step, subpage):
    add_step(device)
    url = f"/u/alice/kiosk/{subpage}"
    assert client.get(url).status_code == 404
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(owner)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("subpage", PAGES)
def test_a_public_device_is_open_to_anyone(client, public_device, add_step, subpage):
    add_step(public_device)
    assert client.get(f"/u/alice/kiosk/{subpage}").status_code == 200


def test_it_is_a_404_under_the_wrong_owner(client, public_device, outsider):
    assert client.get("/u/mallory/kiosk/").status_code == 404
    assert client.get("/u/nobody/kiosk/").status_code == 404


def test_the_overview_shows_running_newest_platforms_and_description(
    client, public_device, add_step, owner
):
    add_step(public_device, sample_state(0, "cloudflare"), status=st.DONE)
    add_step(public_device, sample_state(1, "pvr-sdk"), status=st.ERROR, author=owner)
    add_step(public_device, sample_state(2, "awconnect"), status=st.DOWNLOADING, author=owner)
    response = client.get("/u/alice/kiosk/")
    device = response.context["device"]
    assert device.running_rev == 0
    assert device.head_rev == 2
    assert device.head_status == st.DOWNLOADING
    assert [p["name"] for p in response.context["platforms"]] == ["awconnect"]
    body = response.content.decode()
    assert "A public kiosk" in body
    assert "DOWNLOADING" in body and "ERROR" in body


def test_it_escapes_user_text_and_json(client, owner, make_device, add_step):
    evil = "<script>alert('x')</script>"
    device = make_device(owner, nick="evil", public=True, description=evil)
    state = sample_state(0)
    state["device.json"] = {"note": evil}
    state[f"app/{evil}.json"] = {}
    add_step(device, state, msg=evil)
    for subpage in ["", "revisions/", "revisions/0/", "diff/?a=0&b=0"]:
        body = client.get(f"/u/alice/evil/{subpage}").content.decode()
        assert "<script>alert" not in body, subpage
    body = client.get("/u/alice/evil/revisions/0/").content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body


def test_the_history_lists_statuses_authors_and_lineage(
    client, public_device, add_step, owner, make_device
):
    add_step(public_device, status=st.DONE)
    add_step(public_device, status=st.WONTGO, author=owner, msg="too big")
    source = make_device(owner, nick="upstream", public=True)
    Fork.objects.create(
        device=public_device,
        rev=1,
        source_device=source,
        source_rev=4,
        source_label="alice/upstream",
    )
    body = client.get("/u/alice/kiosk/revisions/").content.decode()
    assert "WONTGO" in body and "too big" in body
    assert "forked from" in body and 'href="/u/alice/upstream/revisions/4/"' in body
    assert "/u/alice/kiosk/diff/" in body  # the compare form


def test_the_lineage_hides_a_source_that_became_private(
    client, public_device, add_step, owner, make_device
):
    add_step(public_device)
    source = make_device(owner, nick="upstream-now-private", public=False)
    Fork.objects.create(
        device=public_device, rev=0, source_device=source, source_rev=2, source_label="alice/was"
    )
    body = client.get("/u/alice/kiosk/").content.decode()
    assert "forked from alice/was at rev 2" in body
    assert "upstream-now-private" not in body


def test_the_revision_view_shows_the_state_as_a_tree(client, public_device, add_step):
    state = sample_state(5)
    state["_config/awconnect/etc/wifi.json"] = {"ssid": "pantacor", "psk": "secret"}
    add_step(public_device, state)
    response = client.get("/u/alice/kiosk/revisions/0/")
    body = response.content.decode()
    rows = response.context["rows"]
    assert [r.name for r in rows if r.kind == "open"] == [
        "_config",
        "awconnect",
        "etc",
        "awconnect",
        "bsp",
    ]
    assert "&quot;ssid&quot;: &quot;pantacor&quot;" in body  # pretty JSON, escaped
    assert "pantavisor-service-system@1" in body
    assert state["awconnect/root.squashfs"][:12] in body


@pytest.mark.parametrize("rev", ["7", "99999999999999999999"])
def test_a_missing_revision_is_a_404(client, public_device, add_step, rev):
    add_step(public_device)
    assert client.get(f"/u/alice/kiosk/revisions/{rev}/").status_code == 404


@pytest.mark.parametrize("logged_in", [False, True])
@pytest.mark.parametrize("subpage", ["", "revisions/", "revisions/1/"])
def test_device_pages_run_a_fixed_number_of_queries(
    client, owner, public_device, add_step, django_assert_num_queries, logged_in, subpage
):
    if logged_in:
        client.force_login(owner)
    for _ in range(3):
        add_step(public_device, author=owner)
    url = f"/u/alice/kiosk/{subpage}"
    client.get(url)  # warm caches that are not per request
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(27):
        add_step(public_device, author=owner)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
    # A revision page also reads the revision's progress history.
    assert len(few.captured_queries) <= (8 if subpage == "revisions/1/" else 7)


def test_the_pages_list_platforms_with_their_source_image(client, public_device, add_step):
    state = sample_state(0, "web")
    state["web/src.json"] = {
        "#spec": "service-manifest-src@1",
        "docker_name": "registry.example.com/team/web",
        "docker_tag": "1.4",
        "docker_digest": "registry.example.com/team/web@sha256:" + "cd" * 32,
    }
    add_step(public_device, state, status=st.DONE)
    for page in ("/u/alice/kiosk/", "/u/alice/kiosk/revisions/0/"):
        body = client.get(page).content.decode()
        assert "registry.example.com/team/web:1.4" in body, page
        assert "sha256:" + "cd" * 32 in body, page


def test_the_overview_says_how_to_get_it_with_trail_clone(client, public_device, add_step):
    add_step(public_device)
    response = client.get("/u/alice/kiosk/")
    assert response.context["clone"] == "trail clone --hub http://testserver alice/kiosk"
    body = response.content.decode()
    assert '<code id="clone-command" data-field="clone-command">trail clone --hub' in body
    # The copy button needs its script; without it the command is text to select.
    assert '<button type="button" class="secondary copy" data-copy="clone-command" hidden>' in body
    assert '<script src="/static/js/copy.js" defer></script>' in body
    # Someone else's device: posting to it is its owner's.
    assert (
        "fork it (the Fork button, or <code>trail fork --hub http://testserver alice/kiosk" in body
    )


def test_the_clone_command_is_one_a_shell_reads_as_it_is(rf, public_device):
    from community.views.device import clone_command

    assert clone_command("http://[::1]:8000", public_device) == (
        "trail clone --hub 'http://[::1]:8000' alice/kiosk"
    )


def test_the_owner_of_a_private_device_is_told_to_log_in_first(client, owner, device, add_step):
    add_step(device)
    client.force_login(owner)
    body = client.get("/u/alice/kiosk/").content.decode()
    assert "trail login --hub http://testserver" in body
    assert "fork it" not in body


def test_a_logged_out_visitor_is_sent_to_log_in_to_fork(client, public_device, add_step):
    add_step(public_device)
    add_step(public_device)
    for page in ("/u/alice/kiosk/", "/u/alice/kiosk/revisions/0/"):
        body = client.get(page).content.decode()
        assert "Fork</a>" in body, page
    body = client.get("/u/alice/kiosk/").content.decode()
    assert 'href="/accounts/login/?next=/u/alice/kiosk/revisions/1/fork/"' in body
    assert (
        'href="/accounts/login/?next=/u/alice/kiosk/revisions/0/fork/"'
        in client.get("/u/alice/kiosk/revisions/0/").content.decode()
    )
    # Logged in, the form itself.
    login = client.get("/accounts/login/?next=/u/alice/kiosk/revisions/1/fork/")
    assert 'name="next" value="/u/alice/kiosk/revisions/1/fork/"' in login.content.decode()


def test_the_fork_count_links_to_the_forks_it_may_show(
    client, owner, outsider, public_device, add_step, make_device
):
    add_step(public_device)
    shown = make_device(outsider, nick="lobby", public=True, description="Mallory's lobby")
    add_step(shown)
    hidden = make_device(outsider, nick="secret-fork")
    add_step(hidden)
    for into in (shown, hidden):
        Fork.objects.create(
            device=into, rev=0, source_device=public_device, source_rev=0,
            source_label="alice/kiosk", user=outsider,
        )  # fmt: skip
    body = client.get("/u/alice/kiosk/").content.decode()
    assert '<a class="counter" href="/u/alice/kiosk/forks/"' in body
    assert '<span data-field="fork-count">2</span> forks</a>' in body

    response = client.get("/u/alice/kiosk/forks/")
    assert [fork.card.nick for fork in response.context["page"]] == ["lobby"]
    body = response.content.decode()
    assert "Mallory&#x27;s lobby" in body and "rev 0 → rev 0 by mallory" in body
    assert "secret-fork" not in body
    assert "and 1 into private device, not listed" in body
    client.force_login(outsider)  # its owner sees both
    names = [f.card.nick for f in client.get("/u/alice/kiosk/forks/").context["page"]]
    assert sorted(names) == ["lobby", "secret-fork"]


def test_a_device_nobody_forked_says_so(client, public_device):
    assert (
        "Nobody has forked this device yet." in client.get("/u/alice/kiosk/forks/").content.decode()
    )
