"""Loopline external trainer example: scikit-learn gradient boosting, exported to ONNX with skl2onnx.

Contract (packages/trainer/README.md, "External trainers"): called as

    train.py <training.csv> <spec.json> <output-dir>

it fits on the rows whose split column says "train", and writes into <output-dir>:
model.onnx (one float32 input named spec.input_tensor, [N, len(feature_columns)]; an output named
spec.score_output holding [P(class 0), P(class 1)]) and metrics.json (holdout metrics it measured).
Loopline re-scores model.onnx itself on the same holdout rows before any gate trusts it.
"""

import csv
import json
import pathlib
import sys

import numpy as np
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import log_loss, roc_auc_score


def load(csv_path, spec):
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = spec["feature_columns"]
    # float32 first: the values Loopline serves are float32, so the trees split on the same numbers.
    x = np.array([[float(r[c]) for c in columns] for r in rows], dtype=np.float32)
    y = np.array([int(float(r[spec["label_column"]])) for r in rows])
    train = np.array([r[spec["split_column"]] == "train" for r in rows])
    return x, y, train


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: train.py <training.csv> <spec.json> <output-dir>")
    csv_path, spec_path, out_dir = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    spec = json.loads(pathlib.Path(spec_path).read_text())
    if spec.get("format") != "loopline.trainer-spec/v1":
        sys.exit(f"unsupported spec format {spec.get('format')!r}")
    x, y, train = load(csv_path, spec)
    if len(set(y[train])) < 2:
        sys.exit("the training rows hold a single class")

    # Depth-limited trees, log loss, shrinkage; early stopping on an internal split of the TRAIN rows only.
    model = GradientBoostingClassifier(
        loss="log_loss",
        learning_rate=0.1,
        n_estimators=200,
        max_depth=3,
        subsample=0.8,
        validation_fraction=0.1,
        n_iter_no_change=10,
        random_state=int(spec["seed"]),
    ).fit(x[train], y[train])

    onnx_model = convert_sklearn(
        model,
        initial_types=[(spec["input_tensor"], FloatTensorType([None, x.shape[1]]))],
        final_types=[("label", Int64TensorType([None])), (spec["score_output"], FloatTensorType([None, 2]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.onnx").write_bytes(onnx_model.SerializeToString())

    holdout = ~train
    metrics = {"train_rows": int(train.sum()), "holdout_rows": int(holdout.sum()), "n_estimators": int(model.n_estimators_)}
    if holdout.any() and len(set(y[holdout])) == 2:
        p = model.predict_proba(x[holdout])[:, 1]
        metrics["auc"] = float(roc_auc_score(y[holdout], p))
        metrics["log_loss"] = float(log_loss(y[holdout], p))
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"trained {model.n_estimators_} trees on {int(train.sum())} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
