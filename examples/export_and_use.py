"""Search briefly, export the winner with its trained weights, and use it in plain PyTorch.

`nas.export` writes a folder: model.py (readable source that imports only torch),
weights.pt (a plain state dict), architecture.json, metrics.json and a model card. The
search keeps the best trials' weights (``keep_weights``), so the export is the trained
winner, not a fresh initialization.

The second half runs in a fresh Python process that imports torch and model.py only
(``--use FOLDER``): it rebuilds the network, loads the weights with
``weights_only=True``, and scores the MNIST-1D test split saved beside it. The accuracy
equals what the search recorded for that trial.

    python examples/export_and_use.py             # 12 trials of 300 steps (minutes)
    python examples/export_and_use.py --quick     # 3 trials of 20 steps (seconds)
    python examples/export_and_use.py --use runs/export_and_use/exported_model  # that half

Writes everything in its run folder, runs/export_and_use(-quick)/: the study, the export
folder exported_model/ and the test split mnist1d_test.pt.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

import torch

TEST_DATA = "mnist1d_test.pt"  # beside the export folder, in the run folder


def use(folder: Path, data: Path | None = None) -> float:
    """Plain PyTorch: build the model from model.py, load its weights, score the test set
    (``data``: default the test split saved beside ``folder``)."""
    data = data or folder.parent / TEST_DATA
    spec = importlib.util.spec_from_file_location("exported_model", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build()  # the exported network, freshly initialized
    model.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
    model.eval()
    test = torch.load(data, weights_only=True)
    with torch.no_grad():
        predicted = model(test["x"]).argmax(dim=1)  # (N, 10) -> (N,)
    accuracy = (predicted == test["y"]).float().mean().item()
    print(f"plain PyTorch: {type(model).__name__} from {folder / 'model.py'}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, test accuracy "
          f"{accuracy:.4f} on {len(test['y'])} samples")
    loaded = sorted(m.split(".")[0] for m in sys.modules if m.split(".")[0] in {"nas", "cli"})
    print(f"nas-toolkit modules loaded: {', '.join(sorted(set(loaded))) or 'none'}")
    return accuracy


def search_and_export(quick: bool, trials: int, budget: str, seed: int) -> None:
    import nas

    run_dir = Path("runs") / ("export_and_use-quick" if quick else "export_and_use")
    study = nas.search("cnn", "mnist1d", trials=trials, budget=budget, seed=seed,
                       run_dir=run_dir, keep_weights=1)
    best = study.best
    recorded = best.metrics["test_acc"]
    print(f"searched {len(study.trials())} trials; best: trial {best.number}, val_acc "
          f"{best.values[0]:.4f}, test_acc {recorded:.4f}")
    folder = nas.export(study, run_dir / "exported_model")  # the best, trained weights
    print(f"exported to {folder}/: {', '.join(sorted(p.name for p in folder.iterdir()))}")

    splits = nas.get_task("mnist1d").splits_on("cpu")
    torch.save({"x": splits.x_test, "y": splits.y_test}, run_dir / TEST_DATA)
    out = subprocess.run([sys.executable, __file__, "--use", str(folder)], check=True,
                         capture_output=True, text=True).stdout
    print(out, end="")
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    if abs(accuracy - recorded) > 1.5 / len(splits.y_test):  # one sample, and rounding
        raise SystemExit(f"the exported model scores {accuracy:.4f}, the search recorded "
                         f"{recorded:.4f}")
    print(f"the exported model reproduces the recorded test accuracy ({recorded:.4f})")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--use", type=Path, metavar="FOLDER", help="only load FOLDER/model.py and "
                   "its weights and score the saved test split (imports torch only)")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--budget", default=None, help="training per candidate, e.g. 300steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.use:
        use(args.use)
        return
    search_and_export(args.quick, args.trials or (3 if args.quick else 12),
                      args.budget or ("20steps" if args.quick else "300steps"), args.seed)


if __name__ == "__main__":
    main()
