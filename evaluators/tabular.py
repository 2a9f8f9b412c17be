"""The ``csv`` task: a table read by pandas, numeric columns predicting a target column."""

from __future__ import annotations

import difflib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from evaluators.arrays import ArrayTask
from nas import register_task


@register_task("csv")
class CSVTask(ArrayTask):
    """CSV file: numeric feature columns predict a target column (``csv:PATH``, target=...).

    ``get_task("csv:data.csv", target="label")``. Features are every numeric column
    but the target unless ``features`` lists them. A categorical (text) target is
    label-encoded for classification; an integer target is classification and a float
    one regression unless ``kind`` says otherwise. Other options as for ``ArrayTask``.
    """

    def __init__(self, path: str | None = None, target: str | None = None,
                 features: list[str] | None = None, kind: str = "auto", **options):
        if not path:
            raise ValueError("the csv task needs a file: get_task('csv:PATH', "
                             "target='COLUMN')")
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"csv task: no file at '{path}' (looked in "
                                    f"{file.resolve().parent}); give an existing path as "
                                    "csv:PATH")
        try:
            df = pd.read_csv(file)
        except Exception as exc:
            raise ValueError(f"csv task: pandas could not read '{path}': {exc}") from exc
        x, y, features, kind = frame_arrays(df, target, features, kind, f"'{path}'")
        self.features, self.target = features, target
        super().__init__(x, y, kind=kind, name=f"csv:{path}", **options)


CSV_TARGET = ("on the command line --task-option target=COLUMN, in a config file "
              "task_config: {target: COLUMN}, in Python get_task('csv:PATH', target=COLUMN)")


def frame_arrays(df: pd.DataFrame, target: str | None, features: list[str] | None,
                 kind: str, where: str, who: str = "csv task", how: str = CSV_TARGET,
                 ) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Features ``x`` (N, F) float32 and targets ``y`` of a table: every numeric column but
    ``target`` unless ``features`` lists them (text targets stay text, for classification).
    ``where`` names the table, ``who`` the task and ``how`` the ways to name the target
    in errors. Returns ``(x, y, features, kind)``."""
    df = df.copy(deep=False)
    columns = [str(c) for c in df.columns]
    df.columns = columns
    if target is None:
        raise ValueError(f"the {who} needs target=COLUMN naming the column to predict "
                         f"(columns of {where}: {', '.join(columns)}): {how}")
    _check_columns([target], columns, where, "target", who)
    if features is None:
        features = [c for c in columns if c != target]
        ignored = [c for c in features if not pd.api.types.is_numeric_dtype(df[c])]
        features = [c for c in features if c not in ignored]
        if ignored:
            warnings.warn(f"{who}: ignoring non-numeric column(s) {', '.join(ignored)} "
                          "(encode them as numbers to use them)", stacklevel=2)
    else:
        features = [str(f) for f in features]
        _check_columns(features, columns, where, "feature", who)
        text = [c for c in features if not pd.api.types.is_numeric_dtype(df[c])]
        if text:
            raise ValueError(f"{who}: feature column(s) {', '.join(text)} are not "
                             "numeric: encode them as numbers or leave them out of "
                             "features")
    if not features:
        raise ValueError(f"{who}: {where} has no numeric feature column besides the "
                         f"target '{target}'")
    missing = df[[*features, target]].isna().sum()
    missing = missing[missing > 0]
    if len(missing):
        counts = ", ".join(f"{c} ({n})" for c, n in missing.items())
        raise ValueError(f"{who}: missing values in {counts}: drop or fill those rows "
                         "first (pandas dropna / fillna)")
    y = df[target]
    if kind == "auto" and not pd.api.types.is_numeric_dtype(y):
        kind = "classification"
    y = y.to_numpy() if pd.api.types.is_numeric_dtype(y) else y.astype(str).to_numpy()
    return df[features].to_numpy(dtype="float32"), y, features, kind


def _check_columns(names: list[str], columns: list[str], where: str, what: str,
                   who: str) -> None:
    for name in names:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"{who}: {what} column '{name}' is not in {where}{hint} "
                             f"(columns: {', '.join(columns)})")
