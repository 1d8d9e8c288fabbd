import pytest

pytestmark = pytest.mark.django_db


def test_it_signs_up_through_the_api_and_can_log_in(api, django_user_model):
    response = api.post(
        "/auth/accounts",
        {"nick": "bob", "email": "bob@example.com", "password": "a long pass phrase"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["nick"] == "bob"
    assert body["prn"].startswith("prn:::accounts:/")
    assert "password" not in body
    user = django_user_model.objects.get(username="bob")
    assert user.check_password("a long pass phrase")
    login = api.post("/auth/login", {"username": "bob", "password": "a long pass phrase"})
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"nick": "alice", "email": "new@example.com", "password": "a long pass phrase"}, "nick"),
        ({"nick": "x", "email": "x@example.com", "password": "a long pass phrase"}, "nick"),
        ({"nick": "bob", "email": "alice@example.com", "password": "a long pass phrase"}, "email"),
        ({"nick": "bob", "email": "not-an-email", "password": "a long pass phrase"}, "email"),
        ({"nick": "bob", "email": "bob@example.com", "password": "123"}, "password"),
    ],
)
def test_it_refuses_bad_sign_ups_and_creates_nothing(api, owner, django_user_model, payload, field):
    response = api.post("/auth/accounts", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert response.json()["error"].startswith(field)
    assert django_user_model.objects.count() == 1
