from revisions.tests.conftest import random_bytes, sha, state_with


def test_it_runs_the_whole_flow(api, owner, device, upload, trail_of):
    kernel = random_bytes(1000)
    answer = api.as_(device).post("/trails/", state_with({}), format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["id"] == device.id
    upload(owner, kernel)
    state = state_with({"bsp/kernel.img": kernel})
    answer = api.as_(owner).post(
        f"/trails/{device.id}/steps", {"rev": 1, "commit-msg": "k", "state": state}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    poll = api.as_(device).get(f"/trails/{device.id}/steps")
    assert poll.status_code == 200
    assert [s["rev"] for s in poll.json()] == [1]
    objs = api.as_(device).get(f"/trails/{device.id}/steps/1/objects")
    assert objs.status_code == 200, objs.json()
    url = objs.json()[0]["signed-geturl"]
    got = api.as_(None).get(url)
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == kernel
    assert objs.json()[0]["sha256sum"] == sha(kernel)
