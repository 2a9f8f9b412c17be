"""The define-by-run space API: decisions, proposals, variation, registry, errors."""

from __future__ import annotations

import itertools
import random
import textwrap

import pytest

import nas
from nas import Space, SpaceError, register_space


def tiny(b, in_shape, n_out):
    x = b.input(in_shape)
    x = b.op("flatten", x)
    for i in range(b.int("depth", 1, 3)):
        x = b.op("linear", x, features=b.choice(f"width_{i}", [8, 16]))
        if b.bool(f"act_{i}"):
            x = b.op(b.choice(f"kind_{i}", ["relu", "tanh"]), x)
    return b.output(b.op("linear", x, features=n_out))


def test_conditional_decisions_appear_only_when_reached():
    s = Space(tiny, (1, 8), 3)
    g, d = s.resolve({"depth": 1, "width_0": 8, "act_0": False, "width_1": 16})
    assert d == {"depth": 1, "width_0": 8, "act_0": False}  # unreached ones dropped
    assert g.meta["decisions"] == d


def test_describe_counts_exactly():
    # depth k: prod over layers of (2 widths * (1 + 2 kinds)) = 6^k
    assert Space(tiny, (1, 8), 3).describe()["size"] == 6 + 36 + 216


def uniform(b, in_shape, n_out):
    x = b.op("flatten", b.input(in_shape))
    for i in range(3):
        x = b.op("linear", x, features=b.choice(f"width_{i}", [4, 8, 12, 16]))
    return b.output(b.op("linear", x, features=n_out))


def test_size_estimate_is_exact_on_a_uniform_tree_and_unbiased_on_tiny():
    assert Space(uniform, (1, 8), 3).describe()["size_estimate"] == 4 ** 3
    s = Space(tiny, (1, 8), 3)
    walks = [s._estimate_leaves(random.Random(seed), probes=64) for seed in range(20)]
    assert abs(sum(walks) / len(walks) - 258) < 0.15 * 258  # Knuth's estimator: unbiased


def test_describe_skips_the_walk_of_a_far_larger_tree(monkeypatch):
    s = Space(tiny, (1, 8), 3)

    def walked(limit):
        raise AssertionError("enumerated a tree estimated far past the limit")

    monkeypatch.setattr(s, "_enumerate", walked)
    desc = s.describe(max_enumerate=20)  # 258 leaves, estimated well past 2 x 20
    assert desc["size"] is None and desc["size_estimate"] > 40
    assert desc["size_upper_bound"] >= 258


def test_missing_and_invalid_decisions():
    s = Space(tiny, (1, 8), 3)
    with pytest.raises(SpaceError, match="'width_0'.*missing"):
        s.build({"depth": 1})
    with pytest.raises(SpaceError, match="value 5 is not in"):
        s.build({"depth": 5})


def test_mutate_changes_the_architecture_and_resolves_conditionals():
    s = Space(tiny, (1, 8), 3)
    rng = random.Random(0)
    for _ in range(50):
        d = s.sample(rng)
        m = s.mutate(d, rng)
        assert s.build(m).fingerprint() != s.build(d).fingerprint()
        assert s.complete(m) == m
        assert m == s.build(m).meta["decisions"]


def test_crossover_takes_values_from_parents():
    s = Space(tiny, (1, 8), 3)
    rng = random.Random(1)
    for _ in range(30):
        a, b = s.sample(rng), s.sample(rng)
        c = s.crossover(a, b, rng)
        for k, v in c.items():
            if k in a or k in b:
                assert v in (a.get(k), b.get(k)) or k not in a or k not in b


class CountingProposal:
    """A Proposal answering the first option and recording the order of questions."""

    def __init__(self):
        self.asked = []

    def decide(self, name, domain):
        self.asked.append(name)
        return domain.values()[0]


def test_proposal_protocol_is_asked_in_order():
    p = CountingProposal()
    assert isinstance(p, nas.Proposal)
    g = Space(tiny, (1, 8), 3).build(p)
    assert p.asked == ["depth", "width_0", "act_0"]
    assert len(g) == 3


def test_float_and_int_step_domains():
    def fn(b, in_shape, n_out):
        p = b.float("p", 0.0, 0.5)
        lr = b.float("lr", 1e-4, 1e-1, log=True)
        w = b.int("w", 8, 64, step=8)
        assert 1e-4 <= lr <= 1e-1 and w % 8 == 0
        x = b.op("dropout", b.input(in_shape), p=p)
        return b.output(b.op("linear", x, features=w))

    s = Space(fn, (4,), 2)
    for seed in range(20):
        s.build(s.sample(seed))
    assert s.describe()["size"] is None  # continuous


# ----------------------------------------------------------------------- bad input


def test_reusing_a_decision_name_with_another_domain():
    def fn(b, in_shape, n_out):
        b.choice("w", [1, 2]) if b.bool("flag") else b.choice("w", [3, 4])
        return b.output(b.op("linear", b.input(in_shape), features=n_out))

    s = Space(fn, (4,), 2)
    s.build({"flag": True, "w": 1})
    with pytest.raises(SpaceError, match="decision 'w' was declared as"):
        s.build({"flag": False, "w": 3})


def test_asking_a_decision_twice_in_one_architecture():
    def fn(b, in_shape, n_out):
        b.int("d", 1, 2)
        b.int("d", 1, 2)
        return b.output(b.op("linear", b.input(in_shape), features=n_out))

    with pytest.raises(SpaceError, match="asked twice"):
        Space(fn, (4,), 2).sample(0)


@pytest.mark.parametrize("ask,match", [
    (lambda b: b.choice("c", []), "at least one option"),
    (lambda b: b.int("i", 5, 2), "low=5 is above high=2"),
    (lambda b: b.float("f", 0.0, 1.0, log=True), "log float needs low > 0"),
    (lambda b: b.choice("c", [[1, 2]]), "options must be"),
    (lambda b: b.choice("c", [1, 1]), "duplicates"),
])
def test_bad_decision_domains(ask, match):
    def fn(b, in_shape, n_out):
        ask(b)
        return b.output(b.op("linear", b.input(in_shape), features=n_out))

    with pytest.raises(SpaceError, match=match):
        Space(fn, (4,), 2).sample(0)


def test_a_space_that_raises_is_reported_with_its_decisions():
    def broken(b, in_shape, n_out):
        b.int("depth", 1, 2)
        raise RuntimeError("boom")

    with pytest.raises(SpaceError, match=r"space 'broken' raised RuntimeError: boom.*depth"):
        Space(broken, (4,), 2).sample(0)


def test_shape_errors_in_a_space_name_the_node():
    def fn(b, in_shape, n_out):
        x = b.input(in_shape)
        return b.output(b.op("conv1d", x, channels=4, kernel=9, padding=0, name="too_big"))

    with pytest.raises(nas.ShapeError) as err:
        Space(fn, (1, 4), 2).sample(0)
    assert err.value.node == "too_big"


def test_no_output_is_an_error():
    def fn(b, in_shape, n_out):
        b.input(in_shape)

    with pytest.raises(SpaceError, match="set no output"):
        Space(fn, (4,), 2).sample(0)


# ----------------------------------------------------------------------- registry


def test_registry_rejects_duplicates_and_suggests_names():
    register_space("test_tiny_space")(tiny)
    with pytest.raises(ValueError, match="already registered"):
        register_space("test_tiny_space")(tiny)
    assert "test_tiny_space" in nas.list_spaces()
    with pytest.raises(SpaceError, match="did you mean mlp"):
        nas.get_space("mpl")


def test_space_from_a_user_file(tmp_path):
    path = tmp_path / "my_space.py"
    path.write_text(textwrap.dedent('''
        def my_space(b, in_shape, n_out, hidden=(8, 16)):
            x = b.op("flatten", b.input(in_shape))
            x = b.op("linear", x, features=b.choice("hidden", list(hidden)))
            return b.output(b.op("linear", b.op("relu", x), features=n_out))
    '''))
    s = nas.get_space(f"{path}:my_space", in_shape=(1, 40), n_out=10, hidden=(4, 5))
    assert s.describe()["size"] == 2
    with pytest.raises(SpaceError, match="has no function 'nope'.*my_space"):
        nas.get_space(f"{path}:nope")
    with pytest.raises(SpaceError, match="does not exist"):
        nas.get_space(f"{tmp_path}/missing.py:f")


# ----------------------------------------------------------------------- nb201


def test_nb201_mapping_is_a_bijection():
    from search_spaces.nb201 import DECISIONS, OPS, from_arch_string, to_arch_string

    seen = set()
    for ops in itertools.product(OPS, repeat=6):
        d = dict(zip(DECISIONS, ops))
        text = to_arch_string(d)
        assert from_arch_string(text) == d
        seen.add(text)
    assert len(seen) == 15625
    assert nas.get_space("nb201", skeleton=False).describe()["size"] == 15625
    with pytest.raises(ValueError):
        from_arch_string("|nor_conv_3x3~0|+|none~0|")


def test_nb201_string_matches_the_benchmark_table_format():
    import pathlib

    from search_spaces.nb201 import from_arch_string, to_arch_string

    shared = pathlib.Path(__file__).resolve().parents[3] / "shared"
    table = shared / "benchmarks" / "nb201_test_accuracy.csv"
    if not table.exists():
        pytest.skip("NAS-Bench-201 table not present")
    import pandas as pd

    df = pd.read_csv(table)
    col = next(c for c in df.columns if df[c].astype(str).str.startswith("|").all())
    for text in df[col].head(500):
        assert to_arch_string(from_arch_string(text)) == text


def test_domain_value_at_indexes_values_without_listing():
    from nas import Domain

    for d in (Domain.integer("n", 2, 11, step=3), Domain.choice("c", ["a", 1, 2.5]),
              Domain.boolean(), Domain.real("f", 0.5, 0.5)):
        assert [d.value_at(i) for i in range(d.size())] == d.values()
    assert Domain.integer("n", 2, 11, step=3).values() == [2, 5, 8, 11]
