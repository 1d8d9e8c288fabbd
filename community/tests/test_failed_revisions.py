"""Pages that must not lie about a revision (issue 21 items 4 and 5).

A failed revision's progress is shown as a failure, roll back is offered only
to a revision that worked (and asks first), a template's revision reads
"template" rather than a pending NEW, and the fork form gives one error.
"""

from __future__ import annotations

import re

import pytest

from community.templatetags.community import status_class, status_word
from revisions.models import Step
from trail import status as st

pytestmark = pytest.mark.django_db


#: A state without objects: rolling back to it needs no upload.
INLINE = {
    "#spec": "pantavisor-service-system@1",
    "bsp/run.json": {"addons": [], "initrd": "pantavisor"},
}


@pytest.fixture
def kiosk(owner, public_device, add_step):
    """alice/kiosk: rev 0 DONE, then ``add_step`` adds more."""
    add_step(public_device, INLINE, status=st.DONE)
    return public_device


def progress_bar(html: str) -> str:
    return re.search(r'<span class="progress[^"]*"[^>]*data-field="head-progress"', html).group(0)


# --- Progress shows failure ----------------------------------------------------------


@pytest.mark.parametrize("status", sorted(st.FAILED))
def test_a_failed_newest_revision_has_a_red_bar_and_says_so(client, kiosk, add_step, status):
    add_step(kiosk, status=status)  # progress 100, like a device's last report
    bar = progress_bar(client.get("/u/alice/kiosk/").content.decode())
    assert 'class="progress bad"' in bar
    assert f'aria-valuetext="{status} 100%"' in bar


def test_a_revision_that_worked_has_a_green_bar(client, kiosk):
    assert 'class="progress ok"' in progress_bar(client.get("/u/alice/kiosk/").content.decode())


def test_the_badge_colours_come_from_the_status_groupings():
    assert {status_class(s) for s in st.FAILED} == {"bad"}
    assert {status_class(s) for s in st.RUNNING_OK} == {"ok"}
    assert {status_class(s) for s in st.PENDING} == {"warn"}
    assert status_class(st.CANCEL) == "muted"


# --- Roll back only to what worked, and ask first -------------------------------------


@pytest.mark.parametrize("status", [st.ERROR, st.WONTGO, st.CANCEL, st.NEW, st.DOWNLOADING])
def test_roll_back_is_not_offered_on_a_revision_that_did_not_work(
    client, owner, kiosk, add_step, status
):
    add_step(kiosk, status=status)
    add_step(kiosk, status=st.DONE)  # so that rev 1 is not the newest
    client.force_login(owner)
    page = client.get("/u/alice/kiosk/revisions/1/").content.decode()
    assert "Roll back to this revision" not in page
    answer = client.post("/u/alice/kiosk/revisions/1/rollback/", follow=True)
    assert f"revision 1 is {status}: only a revision the device ran" in answer.content.decode()
    assert Step.objects.filter(trail_id=kiosk.id).count() == 3


def test_roll_back_is_offered_on_a_revision_that_worked_and_asks_first(
    client, owner, kiosk, add_step
):
    add_step(kiosk, status=st.ERROR)
    client.force_login(owner)
    page = client.get("/u/alice/kiosk/revisions/0/").content.decode()
    assert 'href="/u/alice/kiosk/revisions/0/rollback/"' in page
    assert "Roll back to this revision" in page

    confirm = client.get("/u/alice/kiosk/revisions/0/rollback/")
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "Roll kiosk back to revision 0?" in html
    assert "posted as a new revision (rev 2)" in html
    assert re.search(r'<form method="post"[^>]*>.*Roll back to revision 0</button>', html, re.S)
    assert Step.objects.filter(trail_id=kiosk.id).count() == 2  # GET changed nothing

    answer = client.post("/u/alice/kiosk/revisions/0/rollback/")
    assert answer["Location"] == "/u/alice/kiosk/revisions/2/"


def test_the_confirmation_of_a_failed_revision_sends_back(client, owner, kiosk, add_step):
    add_step(kiosk, status=st.ERROR)
    add_step(kiosk, status=st.DONE)
    client.force_login(owner)
    answer = client.get("/u/alice/kiosk/revisions/1/rollback/", follow=True)
    assert answer.redirect_chain[-1][0] == "/u/alice/kiosk/revisions/1/"
    assert "Revision 1 is ERROR: it is not a revision to roll back to." in answer.content.decode()


# --- A template is no pending update ----------------------------------------------------


def test_a_forked_template_reads_as_a_template_not_new(client, owner, make_device, add_step):
    template = make_device(owner, nick="tpl", public=True, has_hardware=False)
    add_step(template, status=st.NEW)
    assert status_word(st.NEW, False) == "template" and status_word(st.NEW, True) == st.NEW
    for url in (
        "/u/alice/tpl/",
        "/u/alice/tpl/revisions/",
        "/u/alice/tpl/revisions/0/",
        "/explore/",
    ):
        html = client.get(url).content.decode()
        assert ">NEW<" not in html, url
        assert re.search(r'class="badge muted"[^>]*>template<', html), url
    client.force_login(owner)
    # Its revision is a rollback point: nothing will ever install it, and it did not fail.
    add_step(template, status=st.NEW)
    assert "Roll back to this revision" in client.get("/u/alice/tpl/revisions/0/").content.decode()


# --- The fork form: one error, the right one ------------------------------------------


def errors(response) -> list[str]:
    return re.findall(
        r"<li>(.*?)</li>",
        " ".join(re.findall(r'class="errorlist[^>]*>(.*?)</ul>', response.content.decode())),
    )


def test_the_fork_form_shows_one_error_the_right_one(client, outsider, kiosk, make_device):
    mine = make_device(outsider, nick="lab")
    client.force_login(outsider)
    fork = "/u/alice/kiosk/revisions/0/fork/"
    bad_nick = client.post(fork, {"target": "new", "nick": "bad nick!"})
    assert len(errors(bad_nick)) == 1 and errors(bad_nick)[0].startswith("A nick is 2-63")
    assert errors(client.post(fork, {"target": "new", "nick": ""})) == [
        "name the new device: give it a nick"
    ]
    bad_target = client.post(fork, {"target": "nope", "nick": "x"})
    assert errors(bad_target) == [
        "Select a valid choice. nope is not one of the available choices."
    ]
    # Into one of mine, the nick box (prefilled with the source's nick) does not matter.
    into_mine = client.post(fork, {"target": mine.id, "nick": "bad nick!"})
    assert not [e for e in errors(into_mine) if "nick" in e.lower()]
    assert into_mine.status_code == 302
