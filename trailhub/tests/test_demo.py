"""`manage.py demo`, what `make run` runs: the accounts once, and how to get their passwords back."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_second_run_says_how_to_set_the_passwords_again(monkeypatch):
    monkeypatch.delenv("TRAILHUB_DEMO_PASSWORD", raising=False)
    monkeypatch.setenv("TRAILHUB_ADMIN_PASSWORD", "an admin pass phrase")
    assert "demo   password: trailhub-demo   (created)" in demo()
    user = authenticate(username="demo", password="trailhub-demo")
    user.set_password("something else entirely")
    user.save()

    again = demo()
    assert "demo   exists (password unchanged)" in again
    assert (
        "`.venv/bin/python manage.py demo --reset` sets demo's to trailhub-demo"
        " and admin's to an admin pass phrase." in again
    )
    assert authenticate(username="demo", password="trailhub-demo") is None

    assert "demo   password: trailhub-demo   (reset)" in demo("--reset")
    assert authenticate(username="demo", password="trailhub-demo") is not None
    assert authenticate(username="admin", password="an admin pass phrase") is not None
