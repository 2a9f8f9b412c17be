"""Compile overhead: training throughput of graphs compiled by ``nas.compile_graph`` against
the same networks written by hand in torch.

Four models (the MNIST-1D paper CNN, an MLP, a GRU, a small transformer encoder) train on
the same synthetic data with AdamW, batch 100 and cross-entropy. Both variants start from
the same weights (the hand-written state dict is copied into the compiled module), warm up
untimed, then run the same number of timed steps; hand and compiled runs are interleaved
and repeated, alternating which goes first, so slow drift of the CPU does not decide the
ratio. Every step is timed; throughput is batch / median step time over all rounds, which
also shrugs off the steps that other processes on a shared machine preempt.

    python bench/compile_overhead.py            # ~1 minute on 2 idle cores
    python bench/compile_overhead.py --quick    # a few seconds; prints only
    python bench/compile_overhead.py --seconds 10 --rounds 25 --models mlp gru

Writes ``bench/results/compile_overhead.json`` and ``.md`` (``--out`` picks the folder).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from nas import ArchGraph, compile_graph, count_params

LENGTH, CLASSES = 40, 10  # MNIST-1D: 40 samples per signal, 10 classes
D_MODEL, HEADS = 32, 4  # the transformer's width and heads
GRU_HIDDEN = 32
RESULTS = Path(__file__).resolve().parent / "results"


# --------------------------------------------------------------------- hand-written models
class PaperCNN(nn.Module):
    """The MNIST-1D paper's CNN (Greydanus, 2020): 3 conv1d of 25 channels, then linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 25, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
        self.linear = nn.Linear(125, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 40)
        h = self.conv1(x).relu()  # (B, 25, 19)
        h = self.conv2(h).relu()  # (B, 25, 10)
        h = self.conv3(h).relu()  # (B, 25, 5)
        return self.linear(h.flatten(1))  # (B, 10)


class MLP(nn.Module):
    """40 -> 100 -> 100 -> 10 with ReLU."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(LENGTH, 100)
        self.fc2 = nn.Linear(100, 100)
        self.fc3 = nn.Linear(100, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 40)
        return self.fc3(self.fc2(self.fc1(x).relu()).relu())  # (B, 10)


class GRUNet(nn.Module):
    """A GRU over the signal as a sequence of scalars; its final state feeds a linear head."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(1, GRU_HIDDEN, batch_first=True)
        self.head = nn.Linear(GRU_HIDDEN, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 40, 1)
        _, h = self.gru(x)  # (1, B, 32)
        return self.head(h[-1])  # (B, 10)


class TinyTransformer(nn.Module):
    """Linear embedding, learned positions, 2 pre-norm encoder layers, mean pool, linear."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(1, D_MODEL)
        self.pos = nn.Parameter(torch.randn(LENGTH, D_MODEL) * 0.02)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(D_MODEL, HEADS, dim_feedforward=4 * D_MODEL, dropout=0.0,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(2))
        self.head = nn.Linear(D_MODEL, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 40, 1)
        h = self.embed(x) + self.pos  # (B, 40, 32)
        for block in self.blocks:
            h = block(h)  # (B, 40, 32)
        return self.head(h.mean(1))  # (B, 10)


# --------------------------------------------------------------------- the same as graphs
def paper_cnn_graph() -> ArchGraph:
    g = ArchGraph()
    h = g.add_input("x", (1, LENGTH))
    for i, k in enumerate([5, 3, 3], start=1):
        h = g.add_node(f"conv{i}", "conv1d",
                       {"channels": 25, "kernel": k, "stride": 2, "padding": 1}, [h])
        h = g.add_node(f"relu{i}", "relu", {}, [h])
    h = g.add_node("flat", "flatten", {}, [h])
    g.set_output("logits", g.add_node("linear", "linear", {"features": CLASSES}, [h]))
    return g


def mlp_graph() -> ArchGraph:
    g = ArchGraph()
    h = g.add_input("x", (LENGTH,))
    for i in (1, 2):
        h = g.add_node(f"fc{i}", "linear", {"features": 100}, [h])
        h = g.add_node(f"relu{i}", "relu", {}, [h])
    g.set_output("logits", g.add_node("fc3", "linear", {"features": CLASSES}, [h]))
    return g


def gru_graph() -> ArchGraph:
    g = ArchGraph()
    x = g.add_input("x", (LENGTH, 1))
    h = g.add_node("gru", "gru", {"hidden": GRU_HIDDEN, "output": "last"}, [x])
    g.set_output("logits", g.add_node("head", "linear", {"features": CLASSES}, [h]))
    return g


def transformer_graph() -> ArchGraph:
    g = ArchGraph()
    x = g.add_input("x", (LENGTH, 1))
    h = g.add_node("embed", "linear", {"features": D_MODEL}, [x])
    h = g.add_node("pos", "pos_encoding", {"kind": "learned", "max_len": LENGTH}, [h])
    for i in range(2):
        h = g.add_node(f"block{i}", "transformer_encoder",
                       {"heads": HEADS, "ff_ratio": 4, "dropout": 0.0, "norm_first": True,
                        "activation": "gelu"}, [h])
    h = g.add_node("pool", "seq_pool", {"mode": "mean"}, [h])
    g.set_output("logits", g.add_node("head", "linear", {"features": CLASSES}, [h]))
    return g


# --------------------------------------------------------------------- hand -> compiled names
def _same_names(state: dict) -> dict:
    return dict(state)


def _gru_names(state: dict) -> dict:
    return {k.replace("gru.", "gru.rnn.", 1): v for k, v in state.items()}


def _transformer_names(state: dict) -> dict:
    """nn.TransformerEncoderLayer keys -> our TransformerEncoderBlock keys."""
    rename = {"self_attn.in_proj_weight": "attn.in_proj.weight",
              "self_attn.in_proj_bias": "attn.in_proj.bias",
              "self_attn.out_proj.": "attn.out_proj."}
    out = {}
    for key, value in state.items():
        if key == "pos":
            key = "pos.pos"
        elif key.startswith("blocks."):
            _, i, rest = key.split(".", 2)
            for old, new in rename.items():
                rest = rest.replace(old, new)
            key = f"block{i}.{rest}"
        out[key] = value
    return out


# --------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    """One model of the benchmark, compiled and by hand."""

    name: str
    graph: Callable[[], ArchGraph]  # the architecture as an ArchGraph
    hand: Callable[[], nn.Module]  # the same network written in torch
    shape: tuple[int, ...]  # one sample's input shape (batch excluded)
    rename: Callable[[dict], dict]  # hand state_dict -> compiled state_dict


CASES = (
    Case("paper_cnn", paper_cnn_graph, PaperCNN, (1, LENGTH), _same_names),
    Case("mlp", mlp_graph, MLP, (LENGTH,), _same_names),
    Case("gru", gru_graph, GRUNet, (LENGTH, 1), _gru_names),
    Case("transformer", transformer_graph, TinyTransformer, (LENGTH, 1), _transformer_names),
)


def build(case: Case, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """(compiled, hand) for ``case`` with the same weights; raises if they differ in size."""
    torch.manual_seed(seed)
    hand = case.hand()
    compiled = compile_graph(case.graph())
    compiled.load_state_dict(case.rename(hand.state_dict()))  # strict: every name maps
    if count_params(compiled) != count_params(hand):
        raise AssertionError(f"{case.name}: {count_params(compiled)} parameters compiled, "
                             f"{count_params(hand)} by hand")
    return compiled, hand


def make_data(samples: int = 4000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(x (N, 40), y (N,)): one noisy template per class, so the task is learnable."""
    gen = torch.Generator().manual_seed(seed)
    templates = torch.randn(CLASSES, LENGTH, generator=gen)
    y = torch.randint(0, CLASSES, (samples,), generator=gen)
    x = templates[y] + 0.5 * torch.randn(samples, LENGTH, generator=gen)
    return x, y


# --------------------------------------------------------------------- timing
class Run:
    """A model, its optimizer and a cursor into the batches; ``train`` advances all three."""

    def __init__(self, model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]):
        self.model = model.train()
        self.opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        self.batches = batches
        self.step = 0
        self.loss = float("nan")

    def train(self, steps: int) -> list[float]:
        """Train ``steps`` steps; returns the seconds each one took."""
        model, opt, batches, clock = self.model, self.opt, self.batches, time.perf_counter
        times = []
        for _ in range(steps):
            start = clock()
            x, y = batches[self.step % len(batches)]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            times.append(clock() - start)
            self.step += 1
        self.loss = loss.item()
        return times


@dataclass
class Config:
    """How long to measure."""

    rounds: int = 15  # interleaved hand/compiled runs per variant
    seconds: float = 4.0  # target timed seconds per model and variant, over all rounds
    steps: int | None = None  # timed steps per run (overrides seconds)
    warmup: int = 20  # untimed steps before the first timed run
    batch: int = 100
    samples: int = 4000


def _quantiles(times: list[float]) -> dict:
    q = statistics.quantiles(times, n=10) if len(times) > 1 else times * 9
    return {"p10_ms": 1e3 * q[0], "p50_ms": 1e3 * statistics.median(times), "p90_ms": 1e3 * q[-1]}


def measure(case: Case, cfg: Config, data: tuple[torch.Tensor, torch.Tensor]) -> dict:
    """Time ``case`` compiled and by hand; returns the row for the results table.

    Throughput is the batch over the median step time (all timed steps of all rounds);
    on a shared machine the median step ignores the steps that another process preempted,
    which a run's total time does not. Per-round wall-clock throughputs are kept too.
    """
    compiled, hand = build(case)
    x, y = data
    x = x.reshape(len(x), *case.shape)
    batches = list(zip(x.split(cfg.batch), y.split(cfg.batch)))
    runs = {"hand": Run(hand, batches), "compiled": Run(compiled, batches)}
    warm = [t for run in runs.values() for t in run.train(cfg.warmup)[cfg.warmup // 2:]]
    steps = cfg.steps or max(5, round(cfg.seconds / cfg.rounds / statistics.median(warm)))
    times: dict[str, list[float]] = {"hand": [], "compiled": []}
    wall: dict[str, list[float]] = {"hand": [], "compiled": []}
    for r in range(cfg.rounds):
        for name in ("hand", "compiled") if r % 2 == 0 else ("compiled", "hand"):
            step_times = runs[name].train(steps)
            times[name] += step_times
            wall[name].append(steps * cfg.batch / sum(step_times))
    rate = {k: cfg.batch / statistics.median(v) for k, v in times.items()}
    return {
        "model": case.name,
        "params": count_params(hand),
        "steps": steps,
        "rounds": cfg.rounds,
        "hand_samples_per_s": rate["hand"],
        "compiled_samples_per_s": rate["compiled"],
        "ratio": rate["compiled"] / rate["hand"],
        "step_time": {k: _quantiles(v) for k, v in times.items()},
        "round_samples_per_s": wall,  # wall clock of each timed run, in order
        "round_ratio_median": statistics.median(
            c / h for c, h in zip(wall["compiled"], wall["hand"])),
        "final_loss": {k: run.loss for k, run in runs.items()},  # same weights, same steps
    }


# --------------------------------------------------------------------- reporting
def _load() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine skews the timings."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine(load_start: list[float] | None = None) -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_start": load_start,
        "load_average_end": _load(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _first(load: list[float] | None) -> str:
    return "n/a" if load is None else str(load[0])


def table(rows: list[dict]) -> str:
    head = ("model", "params", "steps", "hand samples/s", "compiled samples/s", "compiled/hand")
    body = [(r["model"], f"{r['params']:,}", str(r["steps"]), f"{r['hand_samples_per_s']:,.0f}",
             f"{r['compiled_samples_per_s']:,.0f}", f"{r['ratio']:.3f}") for r in rows]
    widths = [max(len(c) for c in col) for col in zip(head, *body)]
    line = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line.format(*head), rule, *(line.format(*b) for b in body)])


def markdown(rows: list[dict], info: dict, cfg: Config) -> str:
    return "\n".join([
        "# Compile overhead: compiled ArchGraph vs hand-written torch (training)",
        "",
        f"AdamW, batch {cfg.batch}, cross-entropy, {cfg.samples} synthetic samples; "
        f"{cfg.warmup} warm-up steps untimed, then {cfg.rounds} interleaved round(s) per model. "
        "Hand and compiled runs alternate (which goes first alternates too); every step is "
        "timed and samples/s is the batch over the median step time of all rounds. "
        "Target: compiled/hand >= 0.95.",
        "",
        table(rows),
        "",
        f"torch {info['torch']}, Python {info['python']}, {info['cpu']} "
        f"({info['cpu_count']} CPUs, {info['torch_threads']} torch threads), "
        f"{info['platform']}, {info['date']}; load average (1 min) "
        f"{_first(info['load_average_start'])} at the start, "
        f"{_first(info['load_average_end'])} at the end.",
        "",
        "Run: `python bench/compile_overhead.py` (`--quick` for a smoke run).",
        "",
    ])


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="a few steps per model, one round; prints only unless --out is given")
    ap.add_argument("--steps", type=int, help="timed steps per run (default: ~--seconds)")
    ap.add_argument("--seconds", type=float, default=Config.seconds,
                    help="target timed seconds per model and variant (all rounds together)")
    ap.add_argument("--rounds", type=int, default=Config.rounds)
    ap.add_argument("--models", nargs="+", choices=[c.name for c in CASES],
                    default=[c.name for c in CASES])
    ap.add_argument("--out", type=Path, help=f"results folder (default {RESULTS})")
    ap.add_argument("--threads", type=int,
                    help="torch.set_num_threads (default: torch's own choice); 1 is steadier "
                         "on a machine shared with other work")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        cfg = Config(rounds=1, steps=args.steps or 5, warmup=3)
    else:
        cfg = Config(rounds=args.rounds, seconds=args.seconds, steps=args.steps)
    out = args.out or (None if args.quick else RESULTS)

    load_start = _load()
    if load_start and load_start[0] > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load_start[0]} on {os.cpu_count()} CPUs; other work "
              "will add noise (see the p10/p90 step times in the JSON)", file=sys.stderr)
    data = make_data(cfg.samples)
    rows = []
    for case in CASES:
        if case.name in args.models:
            rows.append(measure(case, cfg, data))
            row = rows[-1]
            print(f"  {case.name}: ratio {row['ratio']:.3f} (median of per-round wall-clock "
                  f"ratios {row['round_ratio_median']:.3f})", file=sys.stderr, flush=True)
    info = machine(load_start)
    print(table(rows))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        doc = {"benchmark": "compile_overhead", "machine": info, "config": vars(cfg),
               "target_ratio": 0.95, "rows": rows}
        (out / "compile_overhead.json").write_text(json.dumps(doc, indent=2) + "\n")
        (out / "compile_overhead.md").write_text(markdown(rows, info, cfg))
        print(f"wrote {out / 'compile_overhead.json'} and {out / 'compile_overhead.md'}")
    return rows


if __name__ == "__main__":
    main()
