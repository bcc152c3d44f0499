"""Baseline for bench/trainer.bench.ts: times scikit-learn on the same data (argv: csv path).

Prints one JSON line: fit times in ms (median of runs) and the probabilities' checksum inputs.
"""

import json
import sys
import time

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

data = np.loadtxt(sys.argv[1], delimiter=",")
x, y = data[:, :-1], data[:, -1]


def timed(fit, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model = fit()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), model


def logistic():
    xs = StandardScaler().fit_transform(x)
    return LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10, max_iter=100).fit(xs, y)


logistic_ms, _ = timed(logistic, 5)
gbt_ms, gbt = timed(lambda: GradientBoostingClassifier(n_estimators=100, max_depth=3, learning_rate=0.1, random_state=0).fit(x, y), 1)
print(json.dumps({"logistic_ms": logistic_ms, "gbt_ms": gbt_ms, "gbt_proba": gbt.predict_proba(x[:200])[:, 1].tolist()}))
