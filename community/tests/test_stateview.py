from community import stateview
from community.tests.conftest import sample_state
from trail.apps.platform import platforms_of


def test_it_finds_the_platforms_but_not_the_bsp():
    state = sample_state(0, "cloudflare")
    state["pv-avahi/run.json"] = {"#spec": "service-manifest-run@1"}
    state["pv-avahi/deep/run.json"] = {"#spec": "service-manifest-run@1"}
    state["pv-avahi/src.json"] = {
        "#spec": "service-manifest-src@1",
        "docker_name": "registry.example.com/pv-avahi",
        "docker_tag": "1.2",
        "docker_digest": "registry.example.com/pv-avahi@sha256:" + "ab" * 32,
    }
    found = platforms_of(state)
    assert [p["name"] for p in found] == ["cloudflare", "pv-avahi"]
    assert found[1]["image"] == "registry.example.com/pv-avahi"
    assert found[1]["digest"] == "sha256:" + "ab" * 32


def test_the_tree_nests_folders_and_closes_each_one():
    rows = stateview.tree_rows(
        {"#spec": "x", "a/b/c.json": {"k": 1}, "a/z": "f" * 64, "top": "e" * 64}
    )
    shape = [(r.kind, r.name, r.depth) for r in rows]
    assert shape == [
        ("spec", "#spec", 0),
        ("open", "a", 0),
        ("open", "b", 1),
        ("json", "c.json", 2),
        ("close", "b", 1),
        ("object", "z", 1),
        ("close", "a", 0),
        ("object", "top", 0),
    ]
    assert rows[3].value == '{\n  "k": 1\n}'
    assert rows[3].path == "a/b/c.json"


def test_a_folder_and_a_file_of_the_same_name_are_both_shown():
    rows = stateview.tree_rows({"a": "f" * 64, "a/b": "e" * 64})
    assert [(r.kind, r.name) for r in rows] == [
        ("open", "a"),
        ("object", "b"),
        ("close", "a"),
        ("object", "a"),
    ]


def test_the_diff_treats_one_and_one_point_zero_as_equal_but_not_true():
    assert stateview.diff({"x.json": 1}, {"x.json": 1.0}) == []
    [change] = stateview.diff({"x.json": 1}, {"x.json": True})
    assert change.op == "changed"
    assert [(line.sign, line.text) for line in change.lines if line.sign in "+-"] == [
        ("-", "1"),
        ("+", "true"),
    ]
