"""The real NAS-Bench-201 table (../shared/benchmarks, present in CI) against known cells.

The expected cells and accuracies are the benchmark's published optima (200-epoch test
accuracy, mean over seeds; also in ../shared/benchmarks/README.md), checked first against
the CSV read with the csv module, then against ``load_table`` and the space's decisions.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import nas
from search_spaces.nb201 import DATASET_COLUMNS, from_arch_string, load_table, to_arch_string

TABLE = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "nb201_test_accuracy.csv"

C3, C1, SKIP = "nor_conv_3x3", "nor_conv_1x1", "skip_connect"
OPTIMA = {  # dataset -> (best test accuracy %, the cells that reach it)
    "cifar10": (94.3733, {f"|{C3}~0|+|{C3}~0|{C3}~1|+|{SKIP}~0|{C3}~1|{C1}~2|",
                          f"|{C3}~0|+|{C3}~0|{C3}~1|+|{SKIP}~0|{C1}~1|{C3}~2|"}),
    "cifar100": (73.5133, {f"|{C3}~0|+|{C3}~0|{C3}~1|+|{SKIP}~0|{C3}~1|{C3}~2|"}),
    "imagenet16": (47.3111, {f"|{C1}~0|+|{C1}~0|{C3}~1|+|{SKIP}~0|{C3}~1|{C3}~2|"}),
}
DATASETS = list(OPTIMA)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    if not TABLE.exists():
        pytest.skip(f"the NAS-Bench-201 table is not at {TABLE} (a checkout without "
                    "../shared/benchmarks; CI has it)")
    with TABLE.open(newline="") as f:
        return list(csv.DictReader(f))


def test_the_table_has_every_cell_once(rows):
    assert len(rows) == 5 ** 6 == 15625
    assert len({r["ArchitectureString"] for r in rows}) == 15625
    assert set(DATASET_COLUMNS.values()) <= set(rows[0])


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_optimum_cell_per_dataset(rows, dataset):
    col = DATASET_COLUMNS[dataset]
    best = max(float(r[col]) for r in rows)
    cells = {r["ArchitectureString"] for r in rows if float(r[col]) == best}
    accuracy, known = OPTIMA[dataset]
    assert best == pytest.approx(accuracy, abs=1e-4)
    assert cells == known

    table = load_table(TABLE, dataset)
    assert len(table) == 15625
    assert max(table.values()) == best
    assert {a for a, v in table.items() if v == best} == known


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_optima_round_trip_through_the_space(rows, dataset):
    space = nas.get_space("nb201", skeleton=False)
    for text in OPTIMA[dataset][1]:
        decisions = from_arch_string(text)
        graph, resolved = space.resolve(decisions)
        assert resolved == decisions  # every edge's op is a value of the space's domain
        assert to_arch_string(resolved) == text
        assert space.fingerprint(decisions) == graph.fingerprint()


def test_load_table_matches_plain_csv_on_every_row(rows):
    tables = {d: load_table(TABLE, d) for d in DATASETS}
    for r in rows[::97]:  # a spread of rows, first included
        for d in DATASETS:
            assert tables[d][r["ArchitectureString"]] == float(r[DATASET_COLUMNS[d]])
