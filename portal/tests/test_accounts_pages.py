import re

import pytest
from django.core import mail

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_signs_up_and_lands_logged_in_on_the_dashboard(client, django_user_model):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": "a long pass phrase",
            "password2": "a long pass phrase",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert response.context["user"].username == "carol"
    assert django_user_model.objects.filter(username="carol").exists()


def test_it_refuses_a_taken_nick_on_sign_up(client, owner, django_user_model):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "alice",
            "email": "x@example.com",
            "password1": "a long pass phrase",
            "password2": "a long pass phrase",
        },
    )
    assert response.status_code == 200
    assert "That nick is taken." in response.content.decode()
    assert django_user_model.objects.count() == 1


def test_it_logs_in_and_out(client, owner):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/dashboard/").status_code == 302


def test_the_dashboard_needs_a_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_changes_the_password(client, owner):
    client.force_login(owner)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another long phrase",
            "new_password2": "another long phrase",
        },
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("another long phrase")


def test_it_resets_a_forgotten_password_by_email(client, owner):
    client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a fresh long phrase", "new_password2": "a fresh long phrase"},
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("a fresh long phrase")


def test_it_edits_the_profile(client, owner):
    client.force_login(owner)
    page = client.get("/accounts/profile/")
    assert owner.prn in page.content.decode()
    client.post(
        "/accounts/profile/",
        {"email": "alice@new.example", "first_name": "Alice", "last_name": "", "bio": "<b>hi</b>"},
    )
    owner.refresh_from_db()
    assert owner.email == "alice@new.example"
    assert owner.bio == "<b>hi</b>"


def test_the_admin_is_for_staff_only(client, owner, admin_client):
    client.force_login(owner)
    assert client.get("/admin/").status_code == 302
    assert admin_client.get("/admin/portal/user/").status_code == 200


def test_api_paths_answer_json_404(client):
    response = client.get("/devices/does/not/exist/anywhere")
    assert response.status_code == 404
    assert response.json()["code"] == "not-found"


def test_the_schema_and_swagger_ui_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/auth/login" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_the_schema_lists_each_api_path_once_with_the_jwt_scheme():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(public=True)
    assert "/auth/login" in schema["paths"]
    assert "/auth/login/" not in schema["paths"]
    assert schema["components"]["securitySchemes"]["jwt"]["scheme"] == "bearer"
