"""Three-way merge of states (trail.merge): real states, then the properties, with hypothesis."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from testsupport.testdata import read_state
from trail.canonical import canonical_json
from trail.merge import ABSENT, Conflict, json_pointer, merge_states
from trail.state import SPECS, is_object_key, validate_state

BASE = read_state("initial_state.json")
#: initial_state.json with the vaultwarden platform added (its own keys only).
NEW_PACKAGE = read_state("state_after_new_package.json")
BSP_UPDATE = read_state("state_bsp_update.json")


def with_bsp_update(state: dict) -> dict:
    """``state`` with the board support package (and device.json) of state_bsp_update.json."""
    kept = {k: v for k, v in state.items() if not k.startswith(("bsp/", "_sigs/bsp.json"))}
    return {**kept, **BSP_UPDATE}


def edited(state: dict, key: str, **members) -> dict:
    """A copy of ``state`` whose JSON ``key`` has ``members`` set (``ABSENT`` removes one)."""
    state = copy.deepcopy(state)
    for name, value in members.items():
        if value is ABSENT:
            del state[key][name]
        else:
            state[key][name] = value
    return state


def same(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


# --- real states --------------------------------------------------------------------


def test_a_bsp_update_and_a_new_platform_merge_cleanly():
    ours = with_bsp_update(BASE)
    merged = merge_states(BASE, ours, NEW_PACKAGE)
    assert merged.clean and merged.conflicts == ()
    added = {k: v for k, v in NEW_PACKAGE.items() if k not in BASE}
    assert set(added) >= {"vaultwarden/run.json", "vaultwarden/root.squashfs"}
    assert merged.state == {**ours, **added}
    validate_state(merged.state)
    # The other way round, the same state.
    assert merge_states(BASE, NEW_PACKAGE, ours).state == merged.state


def test_members_of_a_json_value_merge_one_by_one():
    ours = edited(BASE, "bsp/run.json", initrd_config="ours.config")
    theirs = edited(BASE, "bsp/run.json", linux=ABSENT, fit="pantavisor.fit")
    merged = merge_states(BASE, ours, theirs)
    assert merged.clean
    run = merged.state["bsp/run.json"]
    assert run["initrd_config"] == "ours.config" and run["fit"] == "pantavisor.fit"
    assert "linux" not in run
    assert {k: v for k, v in merged.state.items() if k != "bsp/run.json"} == {
        k: v for k, v in BASE.items() if k != "bsp/run.json"
    }


def test_a_member_changed_differently_is_a_conflict_at_its_json_pointer():
    ours = edited(BASE, "bsp/run.json", linux="ours.img", initrd_config="ours.config")
    theirs = edited(BASE, "bsp/run.json", linux="theirs.img", addons=["x"])
    merged = merge_states(BASE, ours, theirs)
    assert [c.as_json() for c in merged.conflicts] == [
        {"path": "/bsp~1run.json/linux", "base": "kernel.img", "ours": "ours.img",
         "theirs": "theirs.img"}
    ]  # fmt: skip
    assert merged.conflicts[0].parts == ("bsp/run.json", "linux")
    # The rest merged, and the state holds ours where they conflict.
    run = merged.state["bsp/run.json"]
    assert (run["linux"], run["initrd_config"], run["addons"]) == ("ours.img", "ours.config", ["x"])


def test_both_making_the_same_change_is_no_conflict():
    ours = edited(with_bsp_update(BASE), "device.json", note="same")
    theirs = edited(with_bsp_update(NEW_PACKAGE), "device.json", note="same")
    merged = merge_states(BASE, ours, theirs)
    assert merged.clean
    assert merged.state["device.json"]["note"] == "same"
    assert merged.state["vaultwarden/run.json"] == NEW_PACKAGE["vaultwarden/run.json"]


def test_removing_what_the_other_side_changed_is_a_conflict():
    ours = {k: v for k, v in BASE.items() if not k.startswith("pv-avahi/")}
    theirs = edited(BASE, "pv-avahi/run.json", name="avahi")
    merged = merge_states(BASE, ours, theirs)
    [conflict] = merged.conflicts
    assert conflict.path == "/pv-avahi~1run.json"
    assert conflict.ours is ABSENT and conflict.theirs["name"] == "avahi"
    found = conflict.as_json()
    assert "ours" not in found and found["base"] == BASE["pv-avahi/run.json"]
    json.dumps(found)  # the sentinel never reaches the JSON
    # Ours removed the platform's objects too, which theirs left alone: they are gone.
    assert not any(k.startswith("pv-avahi/") for k in merged.state)


def test_null_is_a_value_and_absent_is_left_out():
    ours = edited(BASE, "bsp/run.json", linux=None)
    theirs = edited(BASE, "bsp/run.json", linux=ABSENT)
    [conflict] = merge_states(BASE, ours, theirs).conflicts
    assert conflict.as_json() == {
        "path": "/bsp~1run.json/linux",
        "base": "kernel.img",
        "ours": None,
    }


def test_an_object_key_or_the_spec_never_merges_deeper():
    sha_ours, sha_theirs = "1" * 64, "2" * 64
    ours = {**BASE, "bsp/kernel.img": sha_ours, "#spec": SPECS[1]}
    theirs = {**BASE, "bsp/kernel.img": sha_theirs, "#spec": SPECS[2]}
    merged = merge_states(BASE, ours, theirs)
    assert [(c.path, c.ours, c.theirs) for c in merged.conflicts] == [
        ("/#spec", SPECS[1], SPECS[2]),
        ("/bsp~1kernel.img", sha_ours, sha_theirs),
    ]


def test_an_array_changed_on_both_sides_is_one_conflict():
    groups = BASE["device.json"]["groups"]
    ours = edited(BASE, "device.json", groups=groups[:1])
    theirs = edited(BASE, "device.json", groups=groups + [{"name": "extra"}])
    [conflict] = merge_states(BASE, ours, theirs).conflicts
    assert conflict.path == "/device.json/groups"
    assert (conflict.base, conflict.ours, conflict.theirs) == (
        groups,
        groups[:1],
        [*groups, {"name": "extra"}],
    )


def test_a_key_added_on_both_sides_differently_is_a_conflict():
    ours = {**BASE, "extra/run.json": {"name": "extra", "v": 1}}
    theirs = {**BASE, "extra/run.json": {"name": "extra", "v": 2}}
    [conflict] = merge_states(BASE, ours, theirs).conflicts
    assert conflict.as_json() == {
        "path": "/extra~1run.json",
        "ours": {"name": "extra", "v": 1},
        "theirs": {"name": "extra", "v": 2},
    }


def test_numbers_compare_as_the_state_sha_does():
    key = "_config/pvr-sdk/etc/pvr-sdk/config.json"
    ours = edited(BASE, key, port=1)
    assert merge_states(BASE, ours, edited(BASE, key, port=1.0)).clean
    [conflict] = merge_states(BASE, ours, edited(BASE, key, port=True)).conflicts
    assert conflict.path == "/_config~1pvr-sdk~1etc~1pvr-sdk~1config.json/port"


def test_pointers_escape_tilde_and_slash():
    assert json_pointer(()) == ""
    assert json_pointer(("a/b", "m~n", "~1", "")) == "/a~1b/m~0n/~01/"
    key = "_config/pvr-sdk/etc/pvr-sdk/config.json"
    ours = edited(BASE, key, **{"a/b~c": 1})
    theirs = edited(BASE, key, **{"a/b~c": 2})
    [conflict] = merge_states(BASE, ours, theirs).conflicts
    assert conflict.path == "/_config~1pvr-sdk~1etc~1pvr-sdk~1config.json/a~1b~0c"


def test_the_merged_state_shares_nothing_with_the_inputs():
    ours = edited(BASE, "bsp/run.json", linux="ours.img")
    theirs = edited(BASE, "bsp/run.json", linux="theirs.img")
    before = copy.deepcopy((BASE, ours, theirs))
    merged = merge_states(BASE, ours, theirs)
    merged.state["bsp/run.json"]["addons"].append("changed")
    merged.state["device.json"]["groups"].clear()
    assert (BASE, ours, theirs) == before


# --- properties -----------------------------------------------------------------------

SHAS = ["a" * 64, "b" * 64, "c" * 64]
KEYS = ["#spec", "bsp/kernel.img", "app/root.squashfs", "bsp/run.json", "app/run.json",
        "device.json", "_config/a~b/c.json"]  # fmt: skip
#: Member names, some that a JSON Pointer must escape.
NAMES = st.sampled_from(["a", "b", "c", "x/y", "~0", "~1", ""])
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from([0.5, 1.0]),
    st.sampled_from(["x", "y", "a/b"]),
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=12,
)
OBJECTS = st.dictionaries(NAMES, JSON, max_size=4)


def value_for(key: str) -> st.SearchStrategy:
    if key == "#spec":
        return st.sampled_from(SPECS)
    if is_object_key(key):
        return st.sampled_from(SHAS)
    return st.one_of(OBJECTS, JSON)  # mostly objects, so that members merge


STATES = st.fixed_dictionaries({}, optional={key: value_for(key) for key in KEYS})


@st.composite
def changed(draw, value: Any, key: str | None = None) -> Any:
    """``value`` with some members kept, some removed or replaced, some changed further
    down, and perhaps some added. ``key`` is None for a state, a state key for its
    value, "" for a member inside JSON."""
    top, inside = key is None, key == ""
    new = JSON if inside else value_for(key or "")
    if not top and (not isinstance(value, dict) or (not inside and is_object_key(key or ""))):
        return draw(st.one_of(st.just(value), new))
    result = {}
    for name, member in value.items():
        what = draw(st.sampled_from(["keep", "keep", "remove", "replace", "change"]))
        if what == "keep":
            result[name] = member
        elif what == "replace":
            result[name] = draw(value_for(name) if top else JSON)
        elif what == "change":
            result[name] = draw(changed(member, name if top else ""))
    for name in draw(st.lists(st.sampled_from(KEYS) if top else NAMES, max_size=2)):
        result.setdefault(name, draw(value_for(name) if top else JSON))
    return result


@st.composite
def three(draw) -> tuple[dict, dict, dict]:
    base = draw(STATES)
    return base, draw(changed(base)), draw(changed(base))


def at(value: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return ABSENT
        value = value[part]
    return value


def put(state: dict, parts: tuple[str, ...], value: Any) -> None:
    parent = at(state, parts[:-1])
    if value is ABSENT:
        parent.pop(parts[-1], None)
    else:
        parent[parts[-1]] = value


def paths(value: Any, parts: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every path to a member of ``value``'s objects, the state's keys included."""
    found = set()
    if isinstance(value, dict) and not (len(parts) == 1 and is_object_key(parts[0])):
        for name, member in value.items():
            found.add((*parts, name))
            found |= paths(member, (*parts, name))
    return found


def same_side(a: Any, b: Any) -> bool:
    if a is ABSENT or b is ABSENT:
        return a is b
    return same(a, b)


def swapped(conflict: Conflict) -> Conflict:
    return Conflict(conflict.parts, conflict.base, conflict.theirs, conflict.ours)


PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(three())
def test_merging_a_change_with_itself_gives_it(sides):
    base, ours, _ = sides
    merged = merge_states(base, ours, ours)
    assert merged.clean and same(merged.state, ours)


@PROPERTY
@given(three())
def test_merging_with_an_unchanged_side_gives_the_other_side(sides):
    base, ours, theirs = sides
    for merged, expected in ((merge_states(base, base, theirs), theirs),
                             (merge_states(base, ours, base), ours)):  # fmt: skip
        assert merged.clean and same(merged.state, expected)


@PROPERTY
@given(three())
def test_merging_is_symmetric_apart_from_the_conflicts(sides):
    base, ours, theirs = sides
    one, other = merge_states(base, ours, theirs), merge_states(base, theirs, ours)
    assert other.conflicts == tuple(swapped(c) for c in one.conflicts)
    # Where they conflict, each holds its own ours; everywhere else they agree.
    for conflict in one.conflicts:
        put(one.state, conflict.parts, conflict.theirs)
    assert same(one.state, other.state)


@PROPERTY
@given(three())
def test_a_change_only_one_side_made_is_never_lost(sides):
    base, ours, theirs = sides
    merged = merge_states(base, ours, theirs)
    conflicted = [c.parts for c in merged.conflicts]
    for parts in paths(base) | paths(ours) | paths(theirs):
        was, now_ours, now_theirs = at(base, parts), at(ours, parts), at(theirs, parts)
        if same_side(was, now_theirs) and not same_side(was, now_ours):
            # Ours is kept at a conflict too.
            assert same_side(at(merged.state, parts), now_ours), parts
        if same_side(was, now_ours) and not same_side(was, now_theirs):
            assert same_side(at(merged.state, parts), now_theirs) or any(
                parts[: len(c)] == c for c in conflicted
            ), parts


@PROPERTY
@given(three())
def test_a_conflict_is_a_place_both_sides_changed_differently(sides):
    base, ours, theirs = sides
    for conflict in merge_states(base, ours, theirs).conflicts:
        b, o, t = (at(side, conflict.parts) for side in (base, ours, theirs))
        assert same_side(conflict.base, b) and same_side(conflict.ours, o)
        assert same_side(conflict.theirs, t)
        assert not (same_side(b, o) or same_side(b, t) or same_side(o, t))
        json.dumps(conflict.as_json())
