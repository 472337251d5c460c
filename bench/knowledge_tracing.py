"""Knowledge-tracing benchmark (issue 5): our BKT beside pyBKT on ASSISTments 2009, in one run.

`section()` returns Markdown lines for docs/benchmarks.md; `python -m bench.knowledge_tracing`
prints them. Data: the DKVMN (WWW 2017) "assist2009_updated" skill-level split, read at run time
from ../shared/data/assistments2009-dkvmn (override with MICROCRED_BENCH_DATA, the folder that
holds it); never copied into this repository (its licence is unclear).

Protocol: the file format is 3 lines per student sequence (length, skill ids, 0/1 answers). Each
sequence is one learner. Parameters are fitted per skill on ``assist2009_updated_train.csv``
(the union of train1 and valid1; BKT has nothing to early-stop, so the validation split is not
held out), and every answer in ``assist2009_updated_test.csv`` is predicted from the answers
before it in the same sequence and skill. AUC is pooled over all test answers (Mann-Whitney, ties
counted half).

pyBKT cannot be imported next to the project's scikit-learn, so it runs in its own virtual
environment, built once under var/bench/pybkt-venv, and in a subprocess that reads the same rows
from CSV files and writes its predictions back; the AUC is computed here by the same function.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np

from microcred.learning import mastery

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("MICROCRED_BENCH_DATA", ROOT.parent / "shared" / "data"))
DATA = DATA_ROOT / "assistments2009-dkvmn"
TRAIN = "assist2009_updated_train.csv"
TEST = "assist2009_updated_test.csv"
PUBLISHED_PYBKT_AUC = 0.712
PYBKT_VENV = ROOT / "var" / "bench" / "pybkt-venv"
# pyBKT 1.4.3 imports only with scikit-learn <= 1.5, and its EM stores a size-1 array into a
# float slot, which numpy 2.4 refuses ("setting an array element with a sequence").
PYBKT_VERSIONS = ("pyBKT", "scikit-learn==1.5.2", "numpy<2.3")
# pyBKT 1.4.3 is the pure-Python release (10-30 s per thousand training answers here, serial; its
# multiprocessing mode was slower still on two cores), so by default it runs on a spread of skills
# and ours is measured on the same ones; MICROCRED_BENCH_PYBKT=all runs the whole split (hours).
PYBKT_SCOPE = os.environ.get("MICROCRED_BENCH_PYBKT", "sample")

Row = tuple[Hashable, Hashable, int]

# Runs in pyBKT's own environment: fit on train.csv, predict test.csv, write the predictions
# keyed by order_id (pyBKT re-sorts rows by learner) and the timings.
PYBKT_SCRIPT = """
import json, sys, time
import pandas as pd
from pyBKT.models import Model
folder = sys.argv[1]
train = pd.read_csv(folder + "/train.csv")
test = pd.read_csv(folder + "/test.csv")
model = Model(seed=42, num_fits=5, parallel=(sys.argv[2] == "1"))
start = time.perf_counter()
model.fit(data=train)
fit_s = time.perf_counter() - start
start = time.perf_counter()
predicted = model.predict(data=test)
predict_s = time.perf_counter() - start
predicted[["order_id", "correct_predictions"]].to_csv(folder + "/predicted.csv", index=False)
import pyBKT, sklearn
from importlib.metadata import version
json.dump({"fit_s": fit_s, "predict_s": predict_s, "pybkt": version("pyBKT"),
           "sklearn": sklearn.__version__}, open(folder + "/timings.json", "w"))
"""


def load(name: str, prefix: str) -> list[Row]:
    """(learner, skill, correct) rows in file order; learner = ``prefix`` + sequence number."""
    lines = [line.strip() for line in (DATA / name).read_text().splitlines() if line.strip()]
    rows: list[Row] = []
    for k in range(0, len(lines) - 2, 3):
        length = int(lines[k].rstrip(","))
        skills = lines[k + 1].rstrip(",").split(",")
        answers = lines[k + 2].rstrip(",").split(",")
        if not len(skills) == len(answers) == length:
            raise ValueError(f"{name}: sequence at line {k + 1} is not {length} long")
        learner = f"{prefix}{k // 3}"
        rows.extend((learner, int(s), int(c)) for s, c in zip(skills, answers, strict=True))
    return rows


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by Mann-Whitney: P(score of a right > score of a wrong)."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    # Average ranks over ties, so tied pairs count one half.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks = np.empty(scores.size)
    ranks[order] = np.repeat(average, counts)
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both right and wrong answers")
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def ours(
    train: list[Row], test: list[Row], forgetting: bool = False, repeats: int = 3
) -> tuple[float, float, float, dict[Hashable, mastery.BKTParams]]:
    """AUC, best fit seconds and best predict seconds over ``repeats`` deterministic runs."""
    best_fit = best_predict = float("inf")
    params: dict[Hashable, mastery.BKTParams] = {}
    predicted = np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        params = mastery.fit_bkt_per_skill(train, forgetting=forgetting)
        best_fit = min(best_fit, time.perf_counter() - start)
        start = time.perf_counter()
        predicted = mastery.predict_per_skill(params, test)
        best_predict = min(best_predict, time.perf_counter() - start)
    labels = np.array([c for _, _, c in test])
    return auc(labels, predicted), best_fit, best_predict, params


def pybkt_python() -> Path | str:
    """pyBKT's interpreter, building its virtual environment on first use; or why not."""
    python = PYBKT_VENV / "bin" / "python"
    if not python.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(PYBKT_VENV)], check=True)
            for spec in PYBKT_VERSIONS:
                subprocess.run(
                    [str(python), "-m", "pip", "install", "-q", spec],
                    check=True,
                    capture_output=True,
                    text=True,
                )
        except subprocess.CalledProcessError as error:
            tail = (error.stderr or str(error)).strip().splitlines()[-3:]
            return "pyBKT install failed: " + " / ".join(tail)
    return python


def pybkt(
    train: list[Row], test: list[Row], parallel: bool = True
) -> tuple[float, float, float, str] | str:
    """pyBKT's AUC, fit and predict seconds and versions, or the reason it could not run."""
    python = pybkt_python()
    if isinstance(python, str):
        return python
    with tempfile.TemporaryDirectory() as folder:
        for name, rows in (("train", train), ("test", test)):
            with open(f"{folder}/{name}.csv", "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["order_id", "user_id", "skill_name", "correct"])
                writer.writerows((i, u, s, c) for i, (u, s, c) in enumerate(rows))
        done = subprocess.run(
            [str(python), "-c", PYBKT_SCRIPT, folder, "1" if parallel else "0"],
            check=False,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return "pyBKT failed: " + " / ".join(done.stderr.strip().splitlines()[-3:])
        timings = json.loads(Path(folder, "timings.json").read_text())
        predicted = np.full(len(test), np.nan)
        with open(f"{folder}/predicted.csv", newline="") as handle:
            for record in csv.DictReader(handle):
                predicted[int(record["order_id"])] = float(record["correct_predictions"])
    missing = int(np.isnan(predicted).sum())
    if missing:
        return f"pyBKT returned no prediction for {missing} of {len(test)} test answers"
    labels = np.array([c for _, _, c in test])
    versions = f"pyBKT {timings['pybkt']}, scikit-learn {timings['sklearn']}"
    return auc(labels, predicted), timings["fit_s"], timings["predict_s"], versions


def _fmt_row(name: str, values: Sequence[str]) -> str:
    return f"| {name} | " + " | ".join(values) + " |"


def skill_sample(train: list[Row]) -> set[Hashable]:
    """Ten skills spread over sizes: every 11th by training answers, from the 6th smallest."""
    sizes = Counter(s for _, s, _ in train)
    ranked = sorted(sizes, key=lambda s: (sizes[s], str(s)))
    return set(ranked[5::11])


def section() -> list[str]:
    lines = ["## Knowledge tracing on ASSISTments 2009 (issue 5)", ""]
    if not (DATA / TRAIN).exists():
        return [*lines, f"Data not found at `{DATA}`: set MICROCRED_BENCH_DATA.", ""]
    train, test = load(TRAIN, "train-"), load(TEST, "test-")
    train_skills = {s for _, s, _ in train}
    unseen = sum(1 for _, s, _ in test if s not in train_skills)
    auc_bkt, fit_bkt, predict_bkt, _ = ours(train, test)
    auc_fgt, fit_fgt, predict_fgt, _ = ours(train, test, forgetting=True)
    lines += [
        f"DKVMN split `assist2009_updated`: fitted per skill on `{TRAIN}` "
        f"({len(train):,} answers, {len({u for u, _, _ in train}):,} sequences, "
        f"{len(train_skills)} skills; it is train1 + valid1, and BKT has nothing to early-stop "
        f"on), evaluated on `{TEST}` ({len(test):,} answers, "
        f"{len({u for u, _, _ in test}):,} sequences; {unseen} answers on skills absent from "
        "train would use the default parameters). Each test answer is predicted from the answers "
        "before it in the same sequence and skill; AUC pooled over all test answers "
        "(Mann-Whitney, computed here for every model). "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores. Ours is single-threaded numpy, "
        "3 restarts fitted side by side in one vectorised EM, best of 3 runs; pyBKT runs once, "
        "5 restarts (its default), serial.",
        "",
        "| Model | Skills | Test AUC | Fit (s) | Predict (s) |",
        "|---|---|---|---|---|",
        _fmt_row("ours: BKT", ["all", f"{auc_bkt:.4f}", f"{fit_bkt:.2f}", f"{predict_bkt:.2f}"]),
        _fmt_row(
            "ours: BKT + forgetting",
            ["all", f"{auc_fgt:.4f}", f"{fit_fgt:.2f}", f"{predict_fgt:.2f}"],
        ),
        _fmt_row("pyBKT, published for this split", ["all", f"{PUBLISHED_PYBKT_AUC:.3f}", "", ""]),
    ]
    if PYBKT_SCOPE == "all":
        scope, sub_train, sub_test = "all", train, test
        sub_auc, sub_fit = auc_bkt, fit_bkt
    else:
        chosen = skill_sample(train)
        sub_train = [r for r in train if r[1] in chosen]
        sub_test = [r for r in test if r[1] in chosen]
        scope = f"{len(chosen)} ({len(sub_train):,} train answers)"
        sub_auc, sub_fit, sub_predict, _ = ours(sub_train, sub_test)
        lines.append(
            _fmt_row("ours: BKT", [scope, f"{sub_auc:.4f}", f"{sub_fit:.2f}", f"{sub_predict:.2f}"])
        )
    reference = pybkt(sub_train, sub_test, parallel=False)
    if isinstance(reference, str):
        lines += ["", f"pyBKT did not run: {reference}"]
    else:
        ref_auc, ref_fit, ref_predict, versions = reference
        lines += [
            _fmt_row(
                f"pyBKT ({versions}), same run",
                [scope, f"{ref_auc:.4f}", f"{ref_fit:.2f}", f"{ref_predict:.2f}"],
            ),
            "",
            f"On the same skills, AUC ours - pyBKT: {sub_auc - ref_auc:+.4f}; pyBKT's fit takes "
            f"{ref_fit / sub_fit:.0f} times ours.",
        ]
    if PYBKT_SCOPE != "all" and not isinstance(reference, str):
        rate = reference[1] / len(sub_train) * 1000
        hours = rate * len(train) / 1000 / 3600
        lines += [
            "",
            f"pyBKT 1.4.3 is the pure-Python release: {rate:.0f} s per thousand training answers "
            "in this run, so by default it runs on ten skills spread over sizes (every 11th by "
            "training answers) and ours is timed on the same ones; `MICROCRED_BENCH_PYBKT=all` "
            f"runs it on the whole split (about {hours:.1f} h at that rate).",
        ]
    lines += [
        "",
        "Caveats of the DKVMN protocol: the deep models' figures on this split (DKT about 0.81, "
        "DKVMN about 0.82, as reported) predict each answer from the learner's whole history "
        "across skills; skill-level BKT sees only the same skill, so the gap is the model's, "
        "not the fit's. The files carry no student ids or timestamps: each sequence is taken as "
        'one learner and the split is by sequence. This is the corrected "updated" release '
        "(duplicated answers to multi-skill problems removed). AUC pooled across skills rewards "
        "getting each skill's base rate right as much as tracing learning within a sequence.",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(section()))
