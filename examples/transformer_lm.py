"""Search a GPT-like transformer for character-level language modelling, then let it write.

The `charlm` task reads a text (by default the source of Python's textwrap, argparse and
difflib modules: no download), and scores a model by its validation perplexity (lower is
better). Its space settings put the `transformer` space in decoder mode: token
embedding, positions, causal blocks and a linear head per position. The search keeps
the best trial's weights, so the winner can generate text right away.

    python examples/transformer_lm.py              # 10 trials of 200 steps (minutes)
    python examples/transformer_lm.py --quick      # 3 tiny trials on 20k characters

The study goes to runs/transformer_lm (runs/transformer_lm-quick).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import nas
from nas import weights_path


@torch.no_grad()
def generate(model: torch.nn.Module, chars: list[str], context: int, prompt: str, n: int,
             temperature: float = 0.8, seed: int = 0) -> str:
    """Sample ``n`` characters after ``prompt``, one at a time, from the last position."""
    lookup = {c: i for i, c in enumerate(chars)}
    ids = [lookup.get(c, 0) for c in prompt]  # id 0: a character the model never saw
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    for _ in range(n):
        window = ids[-context:]
        x = torch.tensor([[0] * (context - len(window)) + window])  # (1, context)
        logits = model(x)[0, -1] / temperature  # (vocab,): the next character
        ids.append(int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)))
    return "".join(chars[i] for i in ids[len(prompt):])


def main(argv=None) -> nas.Study:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny budget (a smoke run)")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--budget", default=None, help="training per candidate, e.g. 200steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    trials = args.trials or (3 if args.quick else 10)
    budget = args.budget or ("20steps" if args.quick else "200steps")
    # quick: a short text, a short context, small batches and at most 2 layers
    task_config = ({"context": 32, "max_chars": 20_000, "config": {"batch_size": 16}}
                   if args.quick else {"context": 64})
    space_config = {"max_layers": 2 if args.quick else 4}

    run_dir = Path("runs") / ("transformer_lm-quick" if args.quick else "transformer_lm")
    study = nas.search("transformer", "charlm", strategy="evolution", trials=trials,
                       budget=budget, seed=args.seed, run_dir=run_dir, keep_weights=1,
                       task_config=task_config, space_config=space_config)
    for r in sorted(study.completed(), key=lambda r: r.values[0]):
        d = r.decisions
        print(f"trial {r.number:>3}: val_ppl {r.values[0]:6.2f}  ({r.metrics['val_bpc']:.2f} "
              f"bits/char)  {d['layers']} layers, d_model {d['d_model']}, {d['heads']} heads, "
              f"{int(r.metrics['params']):,} params")

    best = study.best
    task = nas.get_task("charlm", **task_config)
    model = nas.compile_graph(best.graph)
    model.load_state_dict(torch.load(weights_path(study.config, best.number, run_dir),
                                     weights_only=True))
    prompt = "def "
    text = generate(model, task.chars, task.context, prompt, 200 if not args.quick else 60)
    print(f"\nbest: trial {best.number}, test_ppl {best.metrics['test_ppl']:.2f}")
    print(f"sample: {prompt}{text}")
    print(f"run folder: {run_dir}")
    return study


if __name__ == "__main__":
    main()
