"""Evidently's side of bench/drift.bench.ts: times drift on the same data and prints one JSON line.

Usage: drift_evidently.py DIR COLUMNS ROWS, where DIR holds reference.f64 and current.f64 (column-major
little-endian float64, columns f0..f{COLUMNS-1}). Reports the wall time of Evidently's DatasetDriftMetric
report (what a user runs) and of the bare default stattest calls, plus each column's score and method.
"""

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.core import ColumnType
from evidently.legacy.metrics import DatasetDriftMetric
from evidently.legacy.pipeline.column_mapping import ColumnMapping
from evidently.legacy.report import Report

warnings.filterwarnings("ignore")


def load(path, columns, rows):
    data = np.fromfile(path, dtype="<f8").reshape(columns, rows)
    return pd.DataFrame({f"f{i}": data[i] for i in range(columns)})


def main():
    folder, columns, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ref = load(f"{folder}/reference.f64", columns, rows)
    cur = load(f"{folder}/current.f64", columns, rows)
    names = list(ref.columns)

    report = Report(metrics=[DatasetDriftMetric()])
    t0 = time.perf_counter()
    report.run(reference_data=ref, current_data=cur, column_mapping=ColumnMapping(numerical_features=names))
    result = report.as_dict()["metrics"][0]["result"]
    report_ms = (time.perf_counter() - t0) * 1000

    scores, methods = {}, {}
    t0 = time.perf_counter()
    for name in names:
        r = ref[name].replace([-np.inf, np.inf], np.nan).dropna()
        c = cur[name].replace([-np.inf, np.inf], np.nan).dropna()
        test = get_stattest(r, c, ColumnType.Numerical, None)
        res = test(r, c, ColumnType.Numerical, None)
        scores[name] = float(res.drift_score)
        methods[name] = test.name
    stattest_ms = (time.perf_counter() - t0) * 1000

    print(json.dumps({
        "report_ms": report_ms,
        "stattest_ms": stattest_ms,
        "drifted_columns": int(result["number_of_drifted_columns"]),
        "scores": scores,
        "methods": methods,
    }))


if __name__ == "__main__":
    main()
