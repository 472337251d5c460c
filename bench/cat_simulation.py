"""Adaptive testing (issue 4): our CAT engine beside catsim and the best fixed form, in one run.

    PYTHONPATH=src python -m bench.cat_simulation

A seeded 300-item 2PL bank (a ~ |N(1.2, 0.25)|, b ~ N(0, 1): the distributions of catsim's
`generate_item_bank`, after Barrada et al. 2010), 500 simulees θ ~ N(0, 1), stop at SE <= 0.30
with at most 60 items. Reports mean test length, RMSE and bias of θ, classification accuracy at
the cut θ = 0.5 and the maximum item exposure; then item-selection latency on a 5,000-item bank.
Target (issue 4): <= 24 items at max exposure <= 0.25 (reference catsim MFI + MLE: 27.1 items).
`section()` returns the Markdown for docs/benchmarks.md. Timing and measurement only.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from microcred.assessment import cat

BANK_SIZE = 300
SIMULEES = 500
TARGET_SE = 0.30
MAX_ITEMS = 60
CUT = 0.5
SEED = 20240
SH_R_MAX = 0.20  # calibrated below 0.25: see the notes


def make_bank(m: int, rng: np.random.Generator, skills: int = 1) -> cat.ItemBank:
    a = np.abs(rng.normal(1.2, 0.25, m))
    b = rng.normal(0.0, 1.0, m)
    return cat.ItemBank(a=a, b=b, c=np.zeros(m), skill=rng.integers(0, skills, m))


def accuracy(theta_hat: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean((theta_hat >= CUT) == (true >= CUT)))


def row(name: str, length: float, rmse: float, bias: float, acc: float, expo: float) -> str:
    return f"| {name} | {length:.1f} | {rmse:.3f} | {bias:+.3f} | {acc:.3f} | {expo:.3f} |"


def ours(
    bank: cat.ItemBank, true: np.ndarray, rng: np.random.Generator
) -> tuple[list[str], float, dict[str, float]]:
    base = cat.CatPolicy(target_se=TARGET_SE, min_items=5, max_items=MAX_ITEMS, randomesque=1)
    lines: list[str] = []
    started = time.perf_counter()
    # Calibration simulees are drawn separately from the 500 that are measured.
    k = cat.calibrate_sympson_hetter(
        bank, base, r_max=SH_R_MAX, simulees=3000, iterations=10, rng=rng
    )
    calib_s = time.perf_counter() - started
    sh_bank = bank.with_exposure(k)
    runs = [
        ("ours: EAP + MFI, no exposure control", bank, base),
        ("ours: EAP + MFI + randomesque-5", bank, replace(base, randomesque=5)),
        (
            f"**ours: EAP + MFI + Sympson-Hetter (r = {SH_R_MAX})**",
            sh_bank,
            replace(base, sympson_hetter=True),
        ),
        (
            "ours: as above + stop when classified at 95 % (cut 0.5)",
            sh_bank,
            replace(base, sympson_hetter=True, cut_score=CUT),
        ),
    ]
    main_length = 0.0
    stats: dict[str, float] = {"calibration_s": calib_s}
    for name, b, policy in runs:
        t = time.perf_counter()
        sim = cat.simulate(b, policy, true, rng)
        stats[f"{name} s"] = time.perf_counter() - t
        lines.append(
            row(
                name,
                sim.mean_length,
                sim.rmse,
                sim.bias,
                accuracy(sim.theta_hat, true),
                sim.max_exposure,
            )
        )
        if "Sympson-Hetter (r" in name:
            main_length = sim.mean_length
            stats["max_length"] = sim.max_length
            stats["se_p90"] = sim.se_quantiles()["p90"]
            stats["at_max"] = float(np.mean(sim.lengths == MAX_ITEMS))
    return lines, main_length, stats


def catsim_rows(bank: cat.ItemBank, true: np.ndarray) -> list[str]:
    try:
        from catsim.estimation import NumericalSearchEstimator
        from catsim.initialization import FixedPointInitializer
        from catsim.item_bank import ItemBank
        from catsim.selection import MaxInfoSelector
        from catsim.simulation import Simulator
        from catsim.stopping import MinErrorStopper
    except ImportError:
        return ["| catsim not installed: run `make bench` | | | | | |"]
    m = len(bank)
    items = np.column_stack([bank.a, bank.b, bank.c, np.ones(m)])
    lines = []
    for name, selector in (
        ("catsim 0.21: MFI + MLE (bounded search)", MaxInfoSelector()),
        ("catsim 0.21: MFI (r_max = 0.25) + MLE", MaxInfoSelector(r_max=0.25)),
    ):
        sim = Simulator(ItemBank(items), true)
        sim.simulate(
            FixedPointInitializer(0.0),
            selector,
            NumericalSearchEstimator(),
            MinErrorStopper(TARGET_SE, max_items=MAX_ITEMS),
        )
        est = np.asarray(sim.latest_estimations, dtype=float)
        lengths = [len(x) for x in sim.administered_items]
        lines.append(
            row(
                name,
                float(np.mean(lengths)),
                float(np.sqrt(np.mean((est - true) ** 2))),
                float(np.mean(est - true)),
                accuracy(est, true),
                float(np.max(sim.item_bank.exposure_rates)),
            )
        )
    return lines


def fixed_form_row(
    bank: cat.ItemBank, true: np.ndarray, n_items: int, rng: np.random.Generator
) -> str:
    """The n items most informative at θ = 0, given to everyone, scored by the same EAP."""
    info = bank.a**2 / 4 * (1 - np.tanh(0.5 * bank.a * (0 - bank.b)) ** 2)  # a² P Q at θ = 0
    form = np.argsort(-info)[:n_items]
    p = 1 / (1 + np.exp(-bank.a[form][None, :] * (true[:, None] - bank.b[form][None, :])))
    responses = rng.random(p.shape) < p
    policy = cat.CatPolicy()
    est = np.array([cat.posterior(bank, policy, form.tolist(), r.tolist())[0] for r in responses])
    return row(
        f"best fixed form: the {n_items} items most informative at θ = 0",
        n_items,
        float(np.sqrt(np.mean((est - true) ** 2))),
        float(np.mean(est - true)),
        accuracy(est, true),
        1.0,
    )


def latency(rng: np.random.Generator) -> tuple[float, float, float]:
    """p50 and p99 of `next_item` (ms) on a 5,000-item bank, and p99 of a whole `answer`."""
    bank = make_bank(5000, rng, skills=4)
    policy = cat.CatPolicy(
        randomesque=5,
        sympson_hetter=True,
        content_targets={0: 0.4, 1: 0.3, 2: 0.2, 3: 0.1},
        max_items=60,
        target_se=0.05,
    )
    bank = bank.with_exposure(rng.uniform(0.3, 1.0, 5000))
    state = cat.start(bank, policy, rng)
    for _ in range(20):  # a session part-way through
        assert state.offered is not None
        state = cat.answer(
            state,
            bank,
            policy,
            item_index=state.offered,
            correct=bool(rng.random() < 0.5),
            expected_version=state.version,
            rng=rng,
        )
    select, full = [], []
    for _ in range(2000):
        t = time.perf_counter()
        cat.next_item(state, bank, policy, rng)
        select.append(time.perf_counter() - t)
    for _ in range(500):
        assert state.offered is not None
        t = time.perf_counter()
        cat.answer(
            state,
            bank,
            policy,
            item_index=state.offered,
            correct=True,
            expected_version=state.version,
            rng=rng,
        )
        full.append(time.perf_counter() - t)
    q = np.quantile(select, [0.5, 0.99]) * 1e3
    return float(q[0]), float(q[1]), float(np.quantile(full, 0.99) * 1e3)


def section() -> list[str]:
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    bank = make_bank(BANK_SIZE, rng)
    true = rng.normal(0.0, 1.0, SIMULEES)
    our_lines, main_length, stats = ours(bank, true, rng)
    t = time.perf_counter()
    catsim_lines = catsim_rows(bank, true)
    catsim_s = time.perf_counter() - t
    fixed = fixed_form_row(bank, true, round(main_length), rng)
    p50, p99, answer_p99 = latency(rng)
    total = time.perf_counter() - started
    verdict_len = "meet" if main_length <= 24 else "miss"
    return [
        "## Adaptive testing (issue 4)",
        "",
        f"Seeded ({SEED}) {BANK_SIZE}-item 2PL bank, a ~ |N(1.2, 0.25)|, b ~ N(0, 1) (catsim's",
        f"generator distributions); {SIMULEES} simulees θ ~ N(0, 1); stop at SE <= {TARGET_SE:.2f}",
        f"(ours: posterior SD; catsim: SEE at the MLE) or {MAX_ITEMS} items; ours also needs 5",
        f"items at least. Accuracy: share on the right side of the cut θ = {CUT} by the point",
        "estimate. Exposure: share of simulees given the item, maximum over the bank.",
        "",
        "| method | mean items | RMSE θ | bias θ | accuracy at cut | max exposure |",
        "|---|---|---|---|---|---|",
        *our_lines,
        *catsim_lines,
        fixed,
        "",
        f"Item selection on a 5,000-item bank (randomesque-5, Sympson-Hetter, 4-skill content "
        f"balancing, 20 items in): p50 {p50:.2f} ms, p99 {p99:.2f} ms (target p99 < 5 ms); a "
        f"whole answer (EAP + stopping + selection) p99 {answer_p99:.2f} ms.",
        "",
        "Notes:",
        f"- Target <= 24 items at max exposure <= 0.25: with Sympson-Hetter we {verdict_len} the "
        f"length target ({main_length:.1f} items); the exposure is in the table. "
        "The reference 27.1 was catsim on its own bank; catsim on *this* bank is in the table.",
        f"- Sympson-Hetter k calibrated to r = {SH_R_MAX} on 3,000 separate simulees (10 "
        f"iterations, {stats['calibration_s']:.1f} s): exposures in a fresh sample of 500 "
        "scatter by ~0.02 around the calibrated rate, and the maximum is taken over ~60 capped "
        "items, so calibrating at 0.25 itself gives a measured maximum near 0.29.",
        f"- Longest test {int(stats['max_length'])} items; {stats['at_max']:.1%} of simulees "
        f"stopped at {MAX_ITEMS} items (extreme θ, where the bank is thin); p90 of the final "
        f"SE {stats['se_p90']:.3f}.",
        "- catsim's `MaxInfoSelector(r_max)` caps exposure with running counts divided by the "
        "known population size, which a live service does not have; Sympson-Hetter needs no "
        "such knowledge.",
        f"- catsim time {catsim_s:.1f} s; whole section {total:.1f} s.",
    ]


if __name__ == "__main__":
    print("\n".join(section()))
