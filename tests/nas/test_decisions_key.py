"""``decisions_key``: the one key of a decisions dict (caches, pending trials, the
fingerprint of decisions that build nothing valid)."""

from __future__ import annotations

from nas._domain import decisions_key, decisions_text
from nas.space import invalid_fingerprint


def test_the_key_ignores_order_and_tells_types_apart():
    assert decisions_key({"a": 1, "b": "x"}) == decisions_key({"b": "x", "a": 1})
    keys = {decisions_key({"a": v}) for v in (1, 1.0, True, "1", None)}
    assert len(keys) == 5
    assert decisions_key({}) == () and decisions_text({}) == "[]"
    assert decisions_key({"w": 2, "act": "relu"}) == (("act", "str", "'relu'"),
                                                      ("w", "int", "2"))
    assert decisions_text({"w": 2, "act": "relu"}) == \
        '[["act","str","\'relu\'"],["w","int","2"]]'


def test_invalid_fingerprints_are_those_of_before():
    """A digest of the key: the same as the space's own key gave before it moved here."""
    decisions = {"b": 1, "a": "x", "c": True, "d": 0.5}
    assert invalid_fingerprint(decisions) == "invalid:102137f984d36fb56251"
