"""``/metrics`` on packs: rollouts by status, and followers stuck past their wave's timeout."""

from __future__ import annotations

import datetime as dt

from packs import rollout as ro
from packs.models import Rollout, Wave
from trail import status as st
from trailhub.metrics.collectors import overdue_deliveries
from trailhub.tests.metrics_helpers import TOKEN, scrape, value


def test_rollouts_and_overdue_followers_match_the_database(
    client, settings, leader, make_member, make_pack, post, report
):
    settings.METRICS_TOKEN = TOKEN
    followers = [make_member() for _ in range(3)]
    make_pack(leader, followers, wave_timeout=60)
    post(leader, 1)
    rollout = Rollout.objects.get(status=ro.RUNNING)
    scraped = scrape(client)
    for status in ro.ROLLOUT_STATUSES:
        expected = Rollout.objects.filter(status=status).count()
        assert value(scraped, "trailhub_rollouts", status=status) == expected
    assert value(scraped, "trailhub_rollouts", status=ro.RUNNING) == 1
    assert value(scraped, "trailhub_pack_deliveries_overdue") == 0  # within the timeout

    # One follower installs it; the wave's timeout passes for the two others.
    report(rollout.deliveries.get(device=followers[0]).step, st.DONE)
    started = Wave.objects.get(rollout=rollout).time_started
    Wave.objects.filter(rollout=rollout).update(time_started=started - dt.timedelta(seconds=61))
    assert value(scrape(client), "trailhub_pack_deliveries_overdue") == 2 == overdue_deliveries()

    Rollout.objects.filter(pk=rollout.pk).update(status=ro.ABORTED)  # no longer anyone's wait
    scraped = scrape(client)
    assert value(scraped, "trailhub_pack_deliveries_overdue") == 0
    assert value(scraped, "trailhub_rollouts", status=ro.RUNNING) == 0
