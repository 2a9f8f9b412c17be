"""One-shot search: train one weight-sharing supernet, let the search's strategy score
candidates with inherited weights, retrain the best few stand-alone as ordinary trials.

``nas.search(..., one_shot=True)`` or ``nas search --one-shot``; the supernet itself
is ``nas.supernet``, its training and scoring the task's (``train_supernet``,
``score_inherited``).
"""

from nas.oneshot._book import METRIC, Book, Score, ranked
from nas.oneshot._flow import (
    SUPERNET_FILE,
    OneShotError,
    check_task,
    print_phase,
    run_one_shot,
)
from nas.oneshot._queue import Queue
from nas.oneshot._settings import RETRAIN, RULES, SAMPLINGS, OneShot, one_shot_of

__all__ = ["METRIC", "RETRAIN", "RULES", "SAMPLINGS", "SUPERNET_FILE", "Book", "OneShot",
           "OneShotError", "Queue", "Score", "check_task", "one_shot_of", "print_phase", "ranked",
           "run_one_shot"]
