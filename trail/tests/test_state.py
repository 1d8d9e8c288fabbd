"""Parsing and validating states, the objects they need, and diffs."""

from __future__ import annotations

import json

import pytest

from testsupport.testdata import STATES, read_state
from trail import state as state_module
from trail.canonical import canonical_json
from trail.state import (
    MAX_JSON_DEPTH,
    MAX_KEY_LENGTH,
    MAX_KEYS,
    SPEC_KEY,
    Change,
    StateError,
    diff_states,
    is_object_key,
    load_json,
    load_state,
    object_shas,
    required_shas,
    validate_state,
)

SPEC = "pantavisor-service-system@1"
SHA_A = "a" * 64
SHA_B = "0123456789abcdef" * 4
REAL_STATES = sorted(path.name for path in STATES.glob("*.json"))


def make_state(**extra):
    """A minimal valid state plus ``extra`` keys (``__`` in a name stands for ``/``)."""
    state = {SPEC_KEY: SPEC, "bsp/kernel.img": SHA_A, "bsp/run.json": {"addons": []}}
    state.update({key.replace("__", "/"): value for key, value in extra.items()})
    return state


def assert_refused(state, code, key, words):
    """``validate_state`` refuses ``state`` with ``code``, naming ``key``."""
    with pytest.raises(StateError) as caught:
        validate_state(state)
    error = caught.value
    assert (error.code, error.key) == (code, key)
    assert words in str(error)
    if key is not None:
        assert str(error).startswith(f"key {json.dumps(key, ensure_ascii=False)}: ")
    return error


@pytest.mark.parametrize("name", REAL_STATES)
def test_it_accepts_every_real_state(name):
    validate_state(load_state((STATES / name).read_bytes()))


@pytest.mark.parametrize("name", REAL_STATES)
def test_it_loads_real_states_as_json_does(name):
    assert load_state((STATES / name).read_text(encoding="utf-8")) == read_state(name)


def test_it_accepts_each_spec():
    for spec in state_module.SPECS:
        validate_state({SPEC_KEY: spec})


def test_it_refuses_an_unknown_spec():
    assert_refused({SPEC_KEY: "pantavisor-service-system@2"}, "bad-spec", SPEC_KEY, "unknown spec")


def test_it_refuses_a_missing_spec():
    state = make_state()
    del state[SPEC_KEY]
    error = assert_refused(state, "bad-spec", None, 'no "#spec" key')
    assert "pantavisor-multi-platform@1" in str(error)


def test_it_names_the_climbing_key_in_its_message():
    error = assert_refused(make_state(**{"../etc/passwd": SHA_A}), "bad-key", "../etc/passwd", "")
    assert str(error) == 'key "../etc/passwd": path must be relative without ".." segments'


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("../x", '".." segments'),
        ("a/../../x", '".." segments'),
        ("a/..", '".." segments'),
        ("/abs", 'not start with "/"'),
        ("a//b", "empty segments"),
        ("a/b/", "empty segments"),
        ("./a", '"." segments'),
        ("a/./b", '"." segments'),
        ("a\x00b", "control characters"),
        ("a\nb", "control characters"),
        ("a\x7fb", "control characters"),
        ("a\udeadb", "lone surrogates"),
        ("a\\..\\..\\x", "backslash"),
        ("", "must not be empty"),
        ("a/" + "b" * MAX_KEY_LENGTH, f"longer than {MAX_KEY_LENGTH} bytes"),
    ],
)
def test_it_refuses_unsafe_keys(key, words):
    assert_refused(make_state(**{key: SHA_A}), "bad-key", key, words)


def test_it_shows_a_nul_in_a_key_instead_of_hiding_it():
    error = assert_refused(make_state(**{"a\x00b": SHA_A}), "bad-key", "a\x00b", "")
    assert str(error).startswith('key "a\\u0000b": ')


def test_it_measures_key_length_in_utf8_bytes():
    validate_state(make_state(**{"é" * (MAX_KEY_LENGTH // 2): SHA_A}))
    assert_refused(
        make_state(**{"é" * (MAX_KEY_LENGTH // 2 + 1): SHA_A}),
        "bad-key",
        "é" * (MAX_KEY_LENGTH // 2 + 1),
        "longer",
    )


def test_it_accepts_spaces_and_unicode_in_keys():
    validate_state(
        make_state(**{"my app/etc/some file.conf": SHA_A, "café/日本.json": {"ok": True}})
    )


def test_it_refuses_non_string_keys():
    state = make_state()
    state[1] = SHA_A
    assert_refused(state, "bad-key", None, "keys must be strings, not 1")


@pytest.mark.parametrize(
    "value",
    [
        "A" * 64,  # uppercase
        "a" * 63,
        "a" * 65,
        "g" * 64,
        f" {SHA_A}",
        {"sha": SHA_A},
        None,
    ],
)
def test_it_refuses_object_keys_without_a_sha(value):
    assert_refused(
        make_state(**{"bsp/kernel.img": value}),
        "bad-sha",
        "bsp/kernel.img",
        "lowercase 64-hex sha256",
    )


def test_it_quotes_the_bad_sha_in_its_message():
    error = assert_refused(
        make_state(**{"bsp/kernel.img": "A" * 64}), "bad-sha", "bsp/kernel.img", ""
    )
    assert (
        str(error)
        == f'key "bsp/kernel.img": value must be a lowercase 64-hex sha256, not "{"A" * 64}"'
    )


@pytest.mark.parametrize("value", [{}, [], [1, {"a": None}], "text", 1.5, True, None])
def test_it_accepts_any_json_under_a_json_key(value):
    validate_state(make_state(**{"app__config.json": value}))


def test_it_refuses_json_nested_too_deep():
    # The state is level 1, so a value may nest MAX_JSON_DEPTH - 1 levels.
    value: object = []
    for _ in range(MAX_JSON_DEPTH - 2):
        value = [value]
    validate_state(make_state(**{"deep.json": value}))
    assert_refused(
        make_state(**{"deep.json": [value]}),
        "too-deep",
        "deep.json",
        f"deeper than {MAX_JSON_DEPTH}",
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("\ud800", "a string has a lone surrogate"),
        ({"a": ["ok", "x\udfffy"]}, "a string has a lone surrogate"),
        ({"\udbff": 1}, "a member name has a lone surrogate"),
    ],
)
def test_it_refuses_lone_surrogates_in_json_values(value, words):
    """``"\\ud800"`` parses, but no UTF-8 file or database column can hold it."""
    assert_refused(make_state(**{"a.json": value}), "bad-value", "a.json", words)


def test_it_accepts_surrogate_pairs_in_json_values():
    validate_state(make_state(**{"a.json": json.loads('"\\ud83d\\ude00"')}))


@pytest.mark.parametrize(
    ("value", "words"), [({"a": {1, 2}}, "set is not a JSON value"), ([float("nan")], "nan")]
)
def test_it_refuses_what_json_cannot_hold_under_a_json_key(value, words):
    assert_refused(make_state(**{"x.json": value}), "bad-value", "x.json", words)


def test_it_refuses_a_state_that_is_not_an_object():
    assert_refused([SPEC_KEY, SPEC], "not-object", None, "not an array")


def test_it_refuses_too_many_keys():
    state = {SPEC_KEY: SPEC} | {f"f/{i}": SHA_A for i in range(MAX_KEYS)}
    assert_refused(state, "too-large", None, f"{MAX_KEYS + 1} keys")


def test_it_refuses_too_large_a_state(monkeypatch):
    state = make_state(**{"big.json": "x" * 1000})
    validate_state(state)
    monkeypatch.setattr(state_module, "MAX_STATE_BYTES", 1000)
    assert_refused(state, "too-large", None, "of canonical JSON, more than 1000")


def test_it_reports_the_first_bad_key_in_sorted_order():
    assert_refused(make_state(**{"z/../x": SHA_A, "a//b": SHA_A}), "bad-key", "a//b", "empty")


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('{"#spec": "x", "a.json": 1, "a.json": 2}', "a.json", "appears twice"),
        ('{"#spec": "x", "a.json": {"k": 1, "k": 1}}', "k", "appears twice"),
        ('{"#spec": "x", "a.json": NaN}', None, "NaN is not a JSON number"),
        ('{"#spec": "x", "a.json": -Infinity}', None, "-Infinity is not a JSON number"),
        ('{"#spec": "x", "a.json": 1e999}', None, "1e999 is too large"),
        ('{"#spec": "x",}', None, "not valid JSON"),
        ("", None, "not valid JSON"),
    ],
)
def test_it_loads_only_unambiguous_json(text, key, words):
    with pytest.raises(StateError) as caught:
        load_state(text)
    assert (caught.value.code, caught.value.key) == ("bad-json", key)
    assert words in str(caught.value)


def test_it_loads_only_utf8():
    with pytest.raises(StateError, match="not UTF-8") as caught:
        load_state('{"#spec": "é"}'.encode("latin-1"))
    assert caught.value.code == "bad-json"


@pytest.mark.parametrize("text", ["[]", '"state"', "null", "1"])
def test_it_loads_only_objects(text):
    with pytest.raises(StateError) as caught:
        load_state(text)
    assert caught.value.code == "not-object"


def test_it_loads_deep_nesting_as_an_error_not_a_crash():
    with pytest.raises(StateError) as caught:
        load_state('{"a.json": ' + "[" * 200_000 + "]" * 200_000 + "}")
    assert caught.value.code == "too-deep"


def test_it_refuses_an_oversized_document(monkeypatch):
    monkeypatch.setattr(state_module, "MAX_DOCUMENT_BYTES", 10)
    with pytest.raises(StateError) as caught:
        load_state(b'{"#spec": "pantavisor-service-system@1"}')
    assert caught.value.code == "too-large"


def test_it_tells_object_keys_from_the_rest():
    assert is_object_key("bsp/kernel.img")
    assert is_object_key("awconnect/root.squashfs.docker-digest")
    assert not is_object_key("bsp/run.json")
    assert not is_object_key(SPEC_KEY)


def test_it_lists_the_shas_a_real_state_needs():
    initial_state = read_state("initial_state.json")
    shas = required_shas(initial_state)
    assert (
        "4a3d315468684cd64ef6915774a867121558297ca9fbab2ed9dd985eb7343886" in shas
    )  # device-dns.conf
    assert shas == {
        value
        for key, value in initial_state.items()
        if key != SPEC_KEY and not key.endswith(".json")
    }
    assert len(shas) == 21


def test_it_groups_the_keys_that_share_an_object():
    state = make_state(**{"a__one": SHA_B, "b__two": SHA_B})
    assert object_shas(state) == {SHA_A: ["bsp/kernel.img"], SHA_B: ["a/one", "b/two"]}
    assert required_shas(state) == {SHA_A, SHA_B}


def test_it_diffs_a_real_state_with_a_new_platform():
    initial_state = read_state("initial_state.json")
    after = read_state("state_after_new_package.json")
    assert diff_states(initial_state, after) == [
        ("added", "_sigs/vaultwarden.json"),
        ("added", "vaultwarden/lxc.container.conf"),
        ("added", "vaultwarden/root.squashfs"),
        ("added", "vaultwarden/root.squashfs.docker-digest"),
        ("added", "vaultwarden/run.json"),
        ("added", "vaultwarden/src.json"),
    ]
    assert [change.op for change in diff_states(after, initial_state)] == ["removed"] * 6


def test_it_diffs_changes_in_key_order():
    old = make_state(**{"z__file": SHA_A, "a.json": {"n": 1}, "gone": SHA_A})
    new = make_state(**{"z__file": SHA_B, "a.json": {"n": 2}, "b__new": SHA_A})
    assert diff_states(old, new) == [
        Change("changed", "a.json"),
        Change("added", "b/new"),
        Change("removed", "gone"),
        Change("changed", "z/file"),
    ]
    assert diff_states(new, new) == []


def test_it_diffs_values_as_the_state_sha_sees_them():
    # Python's == says True == 1 and 1 == 1.0; canonical JSON says only the latter.
    assert diff_states({"a.json": [1]}, {"a.json": [True]}) == [Change("changed", "a.json")]
    assert diff_states({"a.json": [1]}, {"a.json": [1.0]}) == []


@pytest.mark.parametrize(
    "key",
    [
        ".git/config",  # core.fsmonitor runs a command on the next `git status`
        ".git/hooks/post-checkout",
        "app/.git/HEAD",
        ".GIT/config",  # the same folder on a case-insensitive filesystem
        ".git./config",  # the same folder on Windows
        ".gitmodules",
        ".hg/hgrc",
        ".svn/entries",
        ".envrc",  # direnv runs it on `cd`
        "app/.vscode/tasks.json",
        ".idea/workspace.xml",
    ],
)
def test_it_refuses_folders_and_files_that_tools_run_code_from(key):
    value = {} if key.endswith(".json") else SHA_A
    assert_refused(make_state(**{key: value}), "bad-key", key, "tools run code from")


def test_it_accepts_names_that_only_resemble_control_folders():
    validate_state(make_state(**{".gitignore": SHA_A, "app/git/config.json": {}, "a.git": SHA_A}))


@pytest.mark.parametrize("mark", ["\u202e", "\u2066", "\u200f", "\u061c"])
def test_it_refuses_bidirectional_controls_in_keys(mark):
    key = f"app/run{mark}gpj.exe"
    assert_refused(make_state(**{key: SHA_A}), "bad-key", key, "bidirectional")


@pytest.mark.parametrize(
    ("keys", "bad", "words"),
    [
        (["a", "a/b"], "a/b", 'lies inside "a"'),
        ([".trail/x"], ".trail/x", "reserved"),
        ([".pvr/json"], ".pvr/json", "reserved"),
        (["caf\u00e9", "cafe\u0301"], "caf\u00e9", "Unicode twins"),
        # A twin folder: "é/x" and "e\u0301" (a file) are one path on macOS.
        (["cafe\u0301", "caf\u00e9/x"], "caf\u00e9/x", 'lies inside "cafe\u0301"'),
    ],
)
def test_it_refuses_states_that_cannot_be_one_tree(keys, bad, words):
    """What no client could install is refused where states are validated: on the hub too."""
    assert_refused(make_state(**dict.fromkeys(keys, SHA_A)), "bad-key", bad, words)


def test_it_takes_keys_up_to_1024_bytes():
    # The documented limit spelt out: a test computed from MAX_KEY_LENGTH follows a mutant.
    # kills: state.py:52 MAX_KEY_LENGTH 1024 -> 1025
    validate_state(make_state(**{"k" * 1024: SHA_A}))
    assert_refused(make_state(**{"k" * 1025: SHA_A}), "bad-key", "k" * 1025, "longer than")


def test_it_takes_a_state_of_up_to_16_mib_of_canonical_json():
    # kills: state.py:54 MAX_STATE_BYTES 16 * 1024 * 1024 -> 15 * …, 16 | …, 16 * 1024 * 1025
    limit = 16 * 1024 * 1024
    state = make_state(**{"big.json": ""})
    state["big.json"] = "x" * (limit - len(canonical_json(state)))
    assert len(canonical_json(state)) == limit
    validate_state(state)
    state["big.json"] += "x"
    assert_refused(state, "too-large", None, f"{limit + 1} bytes of canonical JSON")


def test_it_does_not_count_the_spec_as_a_file_of_the_tree():
    """``#spec`` is written to no file (trail.tree.file_keys), so a folder may bear its name."""
    # kills: state.py:324 "or" -> "and" (the spec key taken for a file, "#spec/x" inside it)
    validate_state(make_state(**{"#spec/x": SHA_A}))


def test_it_shortens_a_long_value_in_its_message():
    # kills: state.py:418 "+" -> ">>" (a TypeError instead of the message)
    error = assert_refused(make_state(**{"k.img": "z" * 100}), "bad-sha", "k.img", "not ")
    assert str(error).endswith(f'not "{"z" * 76}...')


def test_it_checks_the_layout_of_keys_that_sort_before_the_spec():
    # kills: state.py:324 "==" -> "<=" ("!a" sorts before "#spec" and went unchecked)
    assert_refused(
        make_state(**{"!a": SHA_A, "!a/b": SHA_A}), "bad-key", "!a/b", 'lies inside "!a"'
    )


def test_it_shows_a_key_json_cannot_write():
    # kills: state.py:416 TypeError no longer caught (json.dumps refuses bytes)
    state = make_state()
    state[b"k"] = SHA_A
    assert_refused(state, "bad-key", None, "keys must be strings, not b'k'")


def test_it_says_which_document_is_too_large(monkeypatch):
    # kills: state.py:125 "is" -> "is not" (a .json file called a state)
    monkeypatch.setattr(state_module, "MAX_DOCUMENT_BYTES", 10)
    with pytest.raises(StateError, match="^state is larger than 10 bytes$"):
        load_state(b'{"#spec": "pantavisor-service-system@1"}')
    with pytest.raises(StateError, match='^key "a.json": larger than 10 bytes$'):
        load_json(b"[1, 2, 3, 4, 5, 6]", key="a.json")
