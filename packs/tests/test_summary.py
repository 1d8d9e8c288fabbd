"""What a rollout came to (``packs.rollout.summarize``), and that every place showing it agrees.

Issue 21 item 3: a rollout paused on a failed wave and resumed read
"completed · every wave passed" above the failed wave, and the idle card
said every follower had the newest revision while one was in ERROR.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from packs import rollout as ro
from packs.models import PackMember, Rollout
from packs.rollout import Tally, summarize
from packs.tests.helpers import head
from trail import status as st


def wave(number: int, status: str, ok=0, failed=0, cancelled=0, waiting=0, kind=ro.BATCH):
    return SimpleNamespace(
        number=number, kind=kind, status=status, tally=Tally(ok, failed, cancelled, waiting)
    )


# --- The function, on every outcome ----------------------------------------------


def test_it_words_a_running_rollout_by_its_running_wave():
    summary = summarize(
        ro.RUNNING,
        [wave(1, ro.PASSED, ok=1, kind=ro.CANARY), wave(2, ro.WAVE_RUNNING, ok=1, waiting=1)],
        threshold=0.2,
    )
    assert summary == ro.Summary(
        "running · wave 2 of 2 (batch) · 2 of 3 devices ok, 0 failed, 1 waiting", "warn"
    )


def test_it_words_a_paused_rollout_by_the_wave_that_failed():
    summary = summarize(
        ro.PAUSED,
        [wave(1, ro.FAILED, failed=1, kind=ro.CANARY), wave(2, ro.PENDING, waiting=2)],
        threshold=0.2,
    )
    assert summary.tone == "bad"
    assert summary.text == (
        "paused · wave 1 (canary): 1 of 1 devices failed (100%), over the threshold of 20%;"
        " resume, abort or revert"
    )


def test_a_resumed_failed_wave_is_never_every_wave_passed():
    waves = [wave(1, ro.FAILED, failed=1, kind=ro.CANARY), wave(2, ro.PASSED, ok=2)]
    summary = summarize(ro.COMPLETED, waves, threshold=0.2)
    assert "every wave passed" not in summary.text
    assert summary == ro.Summary(
        "completed with 1 device failed · 2 of 3 devices ok, 1 failed;"
        " wave 1 failed and the owner resumed",
        "bad",
    )


def test_it_says_every_wave_passed_only_when_nothing_failed():
    waves = [wave(1, ro.PASSED, ok=1, kind=ro.CANARY), wave(2, ro.PASSED, ok=2)]
    summary = summarize(ro.COMPLETED, waves, Tally(ok=1))
    assert summary == ro.Summary(
        "completed · every wave passed · 4 of 4 devices ok, 0 failed", "ok"
    )


def test_failures_under_the_threshold_are_told():
    summary = summarize(ro.COMPLETED, [wave(1, ro.PASSED, ok=9, failed=1)], threshold=0.2)
    assert summary == ro.Summary(
        "completed with 1 device failed · 9 of 10 devices ok, 1 failed", "bad"
    )


@pytest.mark.parametrize("status", sorted(st.FAILED))
def test_a_follower_that_failed_after_its_wave_passed_is_told(status):
    """The tallies follow the followers' revisions as they are now (DONE -> ERROR, the
    bootloader's commit): a completed rollout then has a failure to tell."""
    summary = summarize(ro.COMPLETED, [wave(1, ro.PASSED, ok=1, failed=1)], threshold=0.5)
    assert summary.text.startswith("completed with 1 device failed") and summary.tone == "bad"


def test_devices_still_installing_at_the_deadline_are_not_ok_yet():
    summary = summarize(ro.COMPLETED, [wave(1, ro.PASSED, ok=1, waiting=1)])
    assert summary == ro.Summary(
        "completed · every wave passed; 1 of 2 devices ok, 0 failed, 1 waiting", "warn"
    )


def test_a_rollout_without_followers():
    assert summarize(ro.COMPLETED, []) == ro.Summary(
        "completed · no followers then; later ones catch up", "muted"
    )


def test_aborted_reverted_and_superseded_rollouts():
    waves = [wave(1, ro.PASSED, ok=1), wave(2, ro.STOPPED, ok=1, cancelled=1), wave(3, ro.SKIPPED)]
    assert summarize(ro.ABORTED, waves) == ro.Summary(
        "aborted · 2 of 3 devices ok, 0 failed, 1 cancelled", "muted"
    )
    assert summarize(ro.SUPERSEDED, waves).text == (
        "superseded by a newer leader revision · 2 of 3 devices ok, 0 failed, 1 cancelled"
    )
    reverted = [wave(1, ro.FAILED, failed=1), wave(2, ro.WAVE_REVERTED, ok=2)]
    assert summarize(ro.REVERTED, reverted) == ro.Summary(
        "reverted · wave 2 went back to the previous revision · 2 of 3 devices ok, 1 failed;"
        " wave 1 failed and the owner resumed",
        "bad",
    )


# --- The page and the API say the same ---------------------------------------------


@pytest.fixture
def resumed(make_pack, leader, make_member, post, report, committed):
    """A pack of 3 whose canary failed, resumed by the owner, and completed."""
    from packs import services

    followers = [make_member(f"f{i}") for i in range(3)]
    pack = make_pack(leader, followers, canary_share=0.3, wave_size=2)
    release = post(leader, 2, "ship it")
    report(head(followers[0]), st.ERROR)
    committed(services.resume, Rollout.objects.get(status=ro.PAUSED))
    for device in followers[1:]:
        report(head(device), st.DONE)
    assert Rollout.objects.get(leader_step=release).status == ro.COMPLETED
    return pack


def test_the_pack_page_tells_a_resumed_failed_wave(pages, resumed):
    html = pages.get(f"/dashboard/packs/{resumed.id}/").content.decode()
    release = html.split("Leader rev 1</strong>")[1].split('class="rollout"')[0]
    assert "every wave passed" not in release
    assert "completed with 1 device failed · 2 of 3 devices ok, 1 failed;" in html
    assert 'class="badge bad" data-field="rollout-status">completed<' in html
    # The idle card no longer claims that every follower has the newest revision.
    assert "every follower has the leader's newest revision" not in html
    assert "1 follower's newest revision failed (ERROR 1)" in html


def test_the_api_status_msg_is_the_same_summary(pages, resumed):
    body = pages.get(f"/packs/{resumed.id}/rollouts").json()
    assert body[0]["status"] == "completed"
    assert body[0]["status-msg"].startswith("completed with 1 device failed")


def test_a_follower_in_wontgo_is_told_on_the_idle_card(pages, pack_of_two, post, report):
    pack, followers = pack_of_two
    post(pack.leader, 2)
    report(head(followers[0]), st.DONE)
    report(head(followers[1]), st.WONTGO)
    html = pages.get(f"/dashboard/packs/{pack.id}/").content.decode()
    assert "1 follower's newest revision failed (WONTGO 1)" in html
    assert "completed with 1 device failed" in html


@pytest.fixture
def pack_of_two(make_pack, leader, make_member):
    followers = [make_member("a"), make_member("b")]
    pack = make_pack(leader, followers, failure_threshold=0.9)
    assert PackMember.objects.filter(pack=pack).count() == 2
    return pack, followers
