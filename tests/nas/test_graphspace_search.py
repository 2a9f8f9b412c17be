"""Searches over a model's GraphSpace (``nas.search(from_model=...)``): every strategy
drives it; trials record their lineage; children start from their parent's weights
(Lamarckian evolution), checked with a task whose "training" has a known effect."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import nas
from evaluators.loop import build_model
from nas import Result


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(1, 6, 5, stride=2, padding=1), nn.ReLU(),
                         nn.Conv1d(6, 6, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(6 * 10, 10))


X = torch.randn(5, 1, 40)


@pytest.mark.parametrize("strategy", ["random", "evolution", "rl", "optuna:tpe",
                                      "nevergrad:OnePlusOne"])
def test_every_strategy_drives_a_graph_space(strategy):
    st = nas.search(from_model=small_cnn(), example_inputs=X, task="fake",
                    strategy=strategy, trials=6, progress=False, seed=1)
    recs = st.trials()
    assert len(recs) == 6 and all(r.state == "COMPLETE" for r in recs)
    assert len({r.attrs["fingerprint"] for r in recs}) == 6, "fingerprints deduplicate"
    for r in recs:
        lineage = r.attrs["lineage"]
        assert lineage["seed"] == nas.from_module(small_cnn(), X).graph.fingerprint()
        assert 0.0 <= lineage["inherited"] <= 1.0
    assert any(r.attrs["lineage"]["edits"] for r in recs)


class Recorder:
    """A task that records what each candidate starts from and "trains" by adding 1 to
    every weight (the trained weights it returns are known exactly)."""

    in_shape, n_out = (1, 40), 10
    objective = ("val_acc", "max")
    metrics = ("val_acc",)

    def __init__(self):
        self.starts: dict[str, tuple[dict, torch.Tensor]] = {}

    def evaluate(self, graph, budget=None, seed=0, device="auto", report=None,
                 keep_weights=False):
        module = build_model(graph, seed).eval()
        with torch.no_grad():
            out = module(X)
        start = {k: v.clone() for k, v in module.state_dict().items()}
        self.starts[graph.fingerprint()] = (start, out)
        trained = {k: v + 1 if v.is_floating_point() else v for k, v in start.items()}
        score = int(graph.fingerprint()[:6], 16) / 0xFFFFFF
        return Result(objectives={"val_acc": score}, state_dict=trained if keep_weights
                      else None)


def test_children_start_from_their_trained_parent_or_the_seeds_function():
    recorder = Recorder()
    nas.register_task("recorder")(lambda: recorder)
    model = small_cnn().eval()
    with torch.no_grad():
        seed_out = model(X)
    st = nas.search(from_model=model, example_inputs=X, task="recorder",
                    strategy="evolution", trials=16, progress=False, seed=3,
                    edits=["widen", "deepen", "skip", "branch"], max_edits=3,
                    strategy_options={"population": 4})
    from_parent = from_seed = 0
    for r in st.trials():
        lineage = r.attrs["lineage"]
        start, out = recorder.starts[r.attrs["fingerprint"]]
        if lineage["weights_from"] == "seed":  # morphisms of the seed: its function
            torch.testing.assert_close(out, seed_out, rtol=1e-4, atol=1e-5)
            from_seed += 1
        else:  # a trained candidate on the way: its trained weights, for kept nodes
            parent_start, _ = recorder.starts[lineage["weights_from"]]
            for k, v in parent_start.items():
                if k in start and start[k].shape == v.shape and "num_batches" not in k:
                    torch.testing.assert_close(start[k], v + 1)
            from_parent += 1
    assert from_seed and from_parent, (from_seed, from_parent)


def test_status_trial_shows_the_lineage(tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    nas.search(from_model=small_cnn(), example_inputs=X, task="fake", strategy="random",
               trials=3, progress=False, seed=0, run_dir=tmp_path)
    out = CliRunner().invoke(app, ["status", str(tmp_path), "--trial", "1"])
    assert out.exit_code == 0, out.output
    assert "edits:" in out.output and "inherited:" in out.output and "parent:" in out.output


def test_from_model_errors_are_clear():
    with pytest.raises(nas.SpaceError, match="example_inputs"):
        nas.search(from_model=small_cnn(), task="fake", trials=1, progress=False)
    with pytest.raises(nas.SpaceError, match="trace the model on inputs of the task's"):
        nas.search(from_model=nn.Sequential(nn.Linear(40, 10)),
                   example_inputs=torch.randn(2, 40), task="fake", trials=1, progress=False)
