"""How long a training loop runs: steps from a budget, a time cap for true outliers, the lr curve.

Every training loop in ``evaluators`` (supervised, multi-input, generative,
self-supervised) asks one ``StepPlan`` when to stop and where a step falls on the
learning-rate curve, so steps, epochs, seconds and capped (``1000steps,30s``) budgets
behave the same everywhere and every loop reports ``steps``, ``planned_steps``,
``capped`` and ``step_ms``.

A busy machine must not change what a candidate learns. Measured on 2 cores (default
cnn candidates, torch's 2 threads, two CPU-bound background processes): the median step
took 2-22x its quiet wall-clock time and 1.5-8x its quiet CPU time (torch's threads
spin-wait for a descheduled peer), the fastest tenth of the steps 1.2-1.4x their quiet
CPU time, and once, with other jobs running too, 2-13x. So:

- on the CPU a step costs CPU time (``CpuClock``), not wall-clock time (on an
  accelerator, whose work is not CPU time, wall-clock time);
- a step's cost is that of the fastest step so far (all do the same work; other jobs,
  spin-waits, stalls and evaluations only ever add time), never counting the first
  step (allocations, lazy initialisation), looked at every ``probe_steps`` steps: the
  estimate only falls as training goes, and a run capped on it may get its steps back;
- a seconds cap stops only an outlier, decided once enough steps have been timed
  (``decide_at``: a tenth of the planned steps, at least two estimates, at most
  ``DECIDE_MAX``) or earlier only for a clear one (``CLEAR`` times over its limit): a
  schedule shrunk on the noisy first estimates and grown back later would end on the
  planned step on a different lr curve, so the same seed would learn differently on a
  busy machine. The outlier is a candidate whose estimated cost for its whole
  budget exceeds the cap and, when the study's typical step cost is known
  (``nas.budget.typical_step``), also exceeds ``RELATIVE`` times that of a typical
  candidate (a ratio of costs measured alike, which the load does not change; the cap
  alone decides the study's first trials). Its schedule is shortened so the lr curve
  still ends where the run does;
- a run that spends its whole time limit before its first estimate stops there;
- a seconds budget (``30s``) trains the steps its seconds hold at that cost, so on a
  quiet machine a little longer than its seconds, on a busy one much longer.

A busy machine makes a search take longer in wall-clock time, never train less. (A
candidate that hangs is ``TrainConfig.time_limit_s``'s business: it fails.)

A candidate that is not an outlier trains exactly its budget's steps on the budget's
schedule, so a seed gives the same result on a quiet or a busy machine.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

from nas import Budget
from nas.budget import current_typical_step

RELATIVE = 3.0  # a capped candidate is also this many times the study's typical cost
DECIDE_MAX = 100  # a capped budget decides on a cap by this step at the latest
CLEAR = 2.0  # before then, only a candidate this many times over its limit is capped


def cpu_share() -> int:
    """The threads a CPU training step keeps busy: torch's intra-op threads, at most the
    CPUs this process may run on."""
    import torch

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(torch.get_num_threads(), cpus))


class CpuClock:
    """Seconds of CPU time the training has cost: what the steps cost, which other jobs
    on the machine do not inflate (unlike wall-clock time).

    Between two readings it counts the larger of the training thread's CPU time and the
    process's CPU time per thread it trains with (``cpu_share``): the first misses the
    other threads' work when they sleep while waiting, the second overcounts when a
    candidate's ops run on one thread; each is at most the wall-clock time a quiet
    machine would take.
    """

    def __init__(self, share: int | None = None):
        self.share = share or cpu_share()
        self.spent = 0.0
        self._thread, self._process = time.thread_time(), time.process_time()

    def __call__(self) -> float:
        thread, process = time.thread_time(), time.process_time()
        self.spent += max(thread - self._thread, (process - self._process) / self.share)
        self._thread, self._process = thread, process
        return self.spent


def plan_clock(device=None) -> Callable[[], float]:
    """The clock a plan times steps with on ``device`` (None: the CPU)."""
    return CpuClock() if _is_cpu(device) else time.perf_counter


class StepPlan:
    """The number of steps a run takes, and where each falls on the lr curve.

    A steps or epochs budget fixes ``planned`` (and ``total``) up front; a seconds
    budget sizes ``total`` from the estimated step cost. A seconds cap shortens
    ``total`` only for an outlier (see the module docstring), re-estimating as training
    goes (``total`` may shrink further or grow back to ``planned``). Call ``start()``
    before the first step, ``position(step)`` for the lr schedule (which spans
    ``schedule_steps``), and ``advance(step)`` after each step; it returns True when
    the run should stop. ``metrics()`` says how it went. ``typical``: the study's
    typical step cost in seconds (default: ``nas.budget.current_typical_step()``).
    """

    def __init__(self, budget: Budget | str, steps_per_epoch: int, probe_steps: int = 10,
                 device=None, clock: Callable[[], float] | None = None,
                 typical: float | None = None):
        self.budget = Budget.parse(budget)
        self.probe_steps = max(1, probe_steps)
        if self.budget.unit == "steps":
            self.planned: int | None = max(1, round(self.budget.amount))
        elif self.budget.unit == "epochs":
            self.planned = max(1, round(self.budget.amount * max(1, steps_per_epoch)))
        else:
            self.planned = None
        self.total = self.planned
        self.clock = clock or plan_clock(device)
        # on an accelerator a step returns before its work is done: time whole windows
        self.window = 1 if clock is not None or _is_cpu(device) else self.probe_steps
        self.typical = current_typical_step() if typical is None else typical
        self.step_cost: float | None = None  # seconds a step, as last estimated
        self._fastest = math.inf  # the cheapest step (or window, per step) so far
        self.cut = False  # stopped having spent its time before any estimate
        self.t0 = math.inf
        self._c0 = 0.0  # the clock at start
        self._mark: tuple[int, float] | None = None  # (step, clock) a sample starts at
        self._first: tuple[int, float] | None = None  # (step, clock) after the first step
        self._anchor = (0, 0.0)  # (step, position) the schedule was last resized at
        self._span = self.planned if self.planned is not None else 20 * (self.probe_steps + 1)
        # the step from which a capped budget may shrink its schedule (see the module doc)
        self.decide_at = min(DECIDE_MAX, max(2 * self.probe_steps + 1, (self.planned or 0) // 10))

    # ------------------------------------------------------------ the clock
    def start(self) -> float:
        """Start the clock; returns the start time (``time.perf_counter``)."""
        self._c0 = self.clock()
        self.t0 = time.perf_counter()
        return self.t0

    def limit(self) -> float | None:
        """The seconds a run may cost: the budget's, or for a cap the larger of the cap
        and ``RELATIVE`` times a typical candidate's cost of the planned steps."""
        seconds = self.budget.seconds
        if seconds is None or self.planned is None or not self.typical:
            return seconds
        return max(seconds, RELATIVE * self.typical * self.planned)

    def advance(self, step: int) -> bool:
        """Record that ``step`` steps are done; True when the run should stop now."""
        if self.budget.seconds is None:
            return self.done(step)
        cost = self.clock()
        if self._mark is None or step <= 1:
            # the first step (allocations, lazy initialisation) is not typical
            self._mark = self._first = (step, cost)
        elif step - self._mark[0] >= self.window:
            per_step = (cost - self._mark[1]) / (step - self._mark[0])
            self._fastest = min(self._fastest, per_step)
            self._mark = (step, cost)
        if step > 1 and (step - 1) % self.probe_steps == 0 and self._fastest < math.inf:
            self._estimate(step, cost)
        if self.step_cost is None and cost - self._c0 >= self.limit():
            self.cut = True  # spent its time before the first estimate: an outlier
            self._resize(step, step)
            return True
        return self.done(step)

    def _estimate(self, step: int, now: float) -> None:
        """Take the fastest step's cost as the step cost (the mean since the first step
        where the clock ticks too coarsely to time one) and size ``total`` from it."""
        cost = self._fastest
        if cost <= 0 and self._first is not None and step > self._first[0]:
            cost = (now - self._first[1]) / (step - self._first[0])
        if cost <= 0:
            return
        self.step_cost = cost
        limit = self.limit()
        fits = max(step, math.floor(limit / cost))
        if self.planned is None:
            self._resize(step, fits)
        elif cost * self.planned <= limit:
            self._resize(step, self.planned)
        elif step >= self.decide_at or cost * self.planned > CLEAR * limit:
            self._resize(step, min(self.planned, fits))

    # ------------------------------------------------------------ the schedule
    def _resize(self, step: int, total: int) -> None:
        """Make ``total`` the last step, keeping the lr curve continuous at ``step``."""
        if total != self.total:
            self._anchor = (step, self.position(step))
            self.total = total

    @property
    def schedule_steps(self) -> int:
        """The length of the lr curve: ``position(step)`` runs from 0 to it."""
        return self._span

    def position(self, step: int) -> float:
        """Where ``step`` falls on the lr curve: the step itself until the plan is
        resized, then stretched or squeezed so the curve ends with the run."""
        a_step, a_pos = self._anchor
        if self._anchor == (0, 0.0) and self.total in (None, self._span):
            return float(step)
        end = self._span if self.total is None else self.total
        if end <= a_step:
            return a_pos
        return a_pos + (step - a_step) * (self._span - a_pos) / (end - a_step)

    def done(self, step: int) -> bool:
        """Whether ``step`` steps complete the plan."""
        return self.total is not None and step >= self.total

    # ------------------------------------------------------------ the record
    @property
    def capped(self) -> bool:
        """Whether time cut the run short of the steps its budget asks for."""
        return self.planned is not None and (
            self.cut or (self.total is not None and self.total < self.planned))

    def metrics(self, steps: int) -> dict[str, float]:
        """``planned_steps`` (a seconds budget: the steps it was sized to), ``capped``
        (1.0 or 0.0) and, once estimated, ``step_ms`` (a step's cost on the plan's clock:
        budgets without seconds never time their steps)."""
        planned = self.planned if self.planned is not None else (self.total or steps)
        out = {"planned_steps": float(planned), "capped": float(self.capped)}
        if self.step_cost is not None:
            out["step_ms"] = 1000 * self.step_cost
        return out


def _is_cpu(device) -> bool:
    kind = getattr(device, "type", None) or str(device or "cpu").split(":")[0]
    return kind == "cpu"


def lr_at(step: float, total: int, lr: float, warmup: float, final_lr: float) -> float:
    """Linear warm-up over ``warmup * total`` steps, then cosine decay to ``final_lr * lr``
    (``step`` may be a fractional position on a resized schedule)."""
    warm = max(1, round(warmup * total))
    if step < warm:
        return lr * (step + 1) / warm
    t = min(1.0, (step - warm) / max(1, total - warm))
    return lr * (final_lr + (1 - final_lr) * 0.5 * (1 + math.cos(math.pi * t)))
