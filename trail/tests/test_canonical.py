"""The canonical JSON that ``state-sha`` hashes, against known answers."""

from __future__ import annotations

import enum
import hashlib
import json

import pytest

from testsupport.testdata import DATA, read_state
from trail.canonical import canonical_json, state_sha

VECTORS = json.loads((DATA / "canonical-json.json").read_text(encoding="utf-8"))["vectors"]


def _known_state_shas() -> list[tuple[str, str]]:
    """(file name under states/, sha) for each line of STATE-SHA256."""
    pairs = []
    for line in (DATA / "states" / "STATE-SHA256").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sha, path = line.split()
        pairs.append((path.removeprefix("states/"), sha))
    return pairs


KNOWN_STATE_SHAS = _known_state_shas()
# The originals that data/ copies, beside the repository (absent in CI).


@pytest.mark.parametrize("vector", VECTORS, ids=[v["input"] for v in VECTORS])
def test_it_matches_every_known_answer(vector):
    assert canonical_json(json.loads(vector["input"])) == vector["canonical"].encode("utf-8")


def test_it_knows_the_sha_of_every_state_file():
    assert len(KNOWN_STATE_SHAS) == len(list((DATA / "states").glob("*.json")))


@pytest.mark.parametrize(
    ("name", "sha"), KNOWN_STATE_SHAS, ids=[name for name, _ in KNOWN_STATE_SHAS]
)
def test_it_computes_the_known_state_sha(name, sha):
    assert state_sha(read_state(name)) == sha


def test_it_hashes_the_canonical_bytes():
    state = {"b": 1, "#spec": "pantavisor-service-system@1"}
    assert (
        state_sha(state)
        == hashlib.sha256(b'{"#spec":"pantavisor-service-system@1","b":1}').hexdigest()
    )


@pytest.mark.parametrize(
    ("number", "text"),
    [
        # From the spec's own number tokens.
        (0.5, "5.0E-1"),
        (-10.6, "-1.06E1"),
        (8.0, "8"),
        (-9876.543210, "-9.87654321E3"),
        (4e-2, "4.0E-2"),
        (-6e-3, "-6.0E-3"),
        (13.37e3, "13370"),
        (4e40, "4" + "0" * 40),  # shortest digits, not the double's exact value
        (5e-324, "5.0E-324"),
        (2.5e15 + 0.5, "2.5000000000000005E15"),
        (2**53 + 0.0, "9007199254740992"),
        # Between 2^53 and 2^64 a float's exact value and its shortest digits differ; the
        # spec (and the reference server) write the shortest digits. Kills the mutant that
        # moves the exact-integer limit to 2^64 (tests.md M3).
        (1.2345678901234567e18, "1234567890123456800"),
        (2.0**60, "1152921504606847000"),
        (12345678901234567890, "12345678901234567890"),  # ints stay exact
        (-0.0, "0"),
    ],
)
def test_it_writes_numbers_in_canonical_form(number, text):
    assert canonical_json(number) == text.encode()


def test_it_writes_booleans_as_booleans_not_numbers():
    assert canonical_json([True, False, None, 1]) == b"[true,false,null,1]"


def test_it_writes_int_subclasses_as_numbers():
    class Level(enum.IntEnum):
        HIGH = 3

    assert canonical_json({"level": Level.HIGH}) == b'{"level":3}'


def test_it_writes_tuples_as_arrays():
    assert canonical_json({"a": (1, "x")}) == b'{"a":[1,"x"]}'


def test_it_sorts_by_code_point_not_utf16():
    # UTF-16 sorting (RFC 8785) would put the emoji (D83D DE00) before U+FFFF.
    assert canonical_json({"😀": 1, "\uffff": 2}) == '{"\uffff":2,"😀":1}'.encode()


def test_it_sorts_nested_objects():
    assert (
        canonical_json({"z": {"b": [{"d": 1, "c": 2}], "a": {}}})
        == b'{"z":{"a":{},"b":[{"c":2,"d":1}]}}'
    )


def test_it_escapes_only_what_the_form_escapes():
    text = '"\\/\x01\x1f\x7f é\u0301\u2028'
    assert canonical_json(text) == '"\\"\\\\/\\u0001\\u001F\x7f é\u0301\u2028"'.encode()


def test_it_escapes_lone_surrogates_in_uppercase():
    assert canonical_json(json.loads('"a\\udead"')) == b'"a\\uDEAD"'


def test_it_escapes_keys_like_values():
    assert canonical_json({"a\nb": "\t"}) == b'{"a\\nb":"\\t"}'


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_it_refuses_non_finite_numbers(number):
    with pytest.raises(ValueError, match="not a JSON number"):
        canonical_json({"x": number})


def test_it_refuses_non_string_keys():
    with pytest.raises(TypeError, match="keys must be str"):
        canonical_json({1: "a"})


def test_it_refuses_values_json_cannot_hold():
    with pytest.raises(TypeError, match="set is not a JSON value"):
        canonical_json({"x": {1, 2}})
