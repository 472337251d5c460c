"""Skill linking to ESCO (issue 5): RP@5 and MRR on TECH / HOUSE / TECHWOLF, beside the reference
configurations re-run in the same process, plus index build time, latency and throughput, and
end-to-end extraction precision / recall / F1 on every annotated TECH and HOUSE test sentence.

    PYTHONPATH=src python -c "from bench.skill_linking import section; print('\\n'.join(section()))"

Data (read-only, never redistributed): ../shared/data/skill-extraction-esco-benchmark (the
Decorte et al. benchmarks; ranking all 13,895 ESCO v1.1.0 preferred labels), ESCO v1.1.1
skills_en.csv for alternative labels and descriptions (joined by preferred label), and real
LinkedIn postings for throughput. MICROCRED_BENCH_DATA overrides the data folder.
Label embeddings are cached under var/cache/embeddings, so only the first run embeds them.
"""

from __future__ import annotations

import csv
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from microcred.kit.ai.embedder import (
    Embedder,
    HashedEmbedder,
    bundled_model_dir,
    embed_cached,
    load_sentence_transformer,
)
from microcred.learning.skills import SkillConcept, SkillIndex

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MICROCRED_BENCH_DATA", ROOT.parent / "shared" / "data"))
BENCH = DATA / "skill-extraction-esco-benchmark"
CACHE = ROOT / "var" / "cache" / "embeddings"
TEST_SETS = {"TECH": "tech_test", "HOUSE": "house_test", "TECHWOLF": "techwolf_test"}
EXTRACTION_SETS = {"TECH": "tech_test", "HOUSE": "house_test"}
NOT_GOLD = {"LABEL NOT PRESENT", "UNDERSPECIFIED"}
REFERENCE = {  # ../shared/design/BENCHMARKS.md
    "MiniLM + char TF-IDF hybrid": (0.557, 0.399, 0.408),
    "MiniLM alone": (0.456, 0.339, 0.367),
}
TARGET = (0.60, 0.45, 0.45)
POSTINGS = int(os.environ.get("MICROCRED_BENCH_POSTINGS", "30"))

Scorer = Callable[[Sequence[str]], list[np.ndarray[Any, Any]]]


def key(label: str) -> str:
    # v1.1.0 labels lost their commas ("data extraction transformation and loading tools").
    return re.sub(r"[^\w]+", " ", label.lower()).strip()


def load_concepts() -> list[SkillConcept]:
    esco: dict[str, dict[str, str]] = {}
    with (DATA / "esco-v1.1.1" / "skills_en.csv").open(newline="") as handle:
        for record in csv.DictReader(handle):
            esco[key(record["preferredLabel"])] = record
    concepts = []
    for line in (BENCH / "skills_en_label.txt").read_text().splitlines():
        label = line.strip()
        if not label:
            continue
        row = esco.get(key(label))
        alts = tuple(
            a.strip()
            for a in (row["altLabels"].split("\n") if row else [])
            if a.strip() and a.strip() != label
        )
        concepts.append(
            SkillConcept(
                uri=row["conceptUri"] if row else f"urn:esco-label:{key(label)}",
                label=label,
                alt_labels=alts,
                description=row["description"].strip() if row else "",
            )
        )
    return concepts


def load_set(name: str) -> list[tuple[str, set[str]]]:
    """Sentences with at least one gold ESCO label (the standard evaluation set)."""
    gold: dict[str, set[str]] = {}
    with (BENCH / f"{name}_annotations.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            labels = gold.setdefault(row["sentence"], set())
            if row["label"].strip() not in NOT_GOLD:
                labels.add(key(row["label"]))
    return [(sentence, labels) for sentence, labels in gold.items() if labels]


def load_sentences(name: str) -> list[tuple[str, set[str]]]:
    """Every annotated sentence with its gold ESCO labels, the empty sets included (a sentence
    whose spans are all "LABEL NOT PRESENT" or "UNDERSPECIFIED" measures false positives)."""
    gold: dict[str, set[str]] = {}
    with (BENCH / f"{name}_annotations.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            labels = gold.setdefault(row["sentence"], set())
            if row["label"].strip() not in NOT_GOLD:
                labels.add(key(row["label"]))
    return list(gold.items())


def extraction_prf(
    index: SkillIndex, data: list[tuple[str, set[str]]]
) -> tuple[float, float, float, float]:
    """Micro precision, recall and F1 of `index.extract(sentence)` (shipped threshold) against
    the gold labels, and milliseconds per sentence."""
    tp = fp = fn = 0
    started = time.perf_counter()
    for sentence, gold in data:
        predicted = {key(m.label) for m in index.extract(sentence).matches}
        tp += len(predicted & gold)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    ms = 1000 * (time.perf_counter() - started) / len(data)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, ms


def evaluate(
    scorer: Scorer, data: list[tuple[str, set[str]]], keys: list[str]
) -> tuple[float, float, float]:
    """RP@5, MRR over all labels, and seconds per sentence."""
    position = {k: i for i, k in enumerate(keys)}
    started = time.perf_counter()
    all_scores = []
    for start in range(0, len(data), 64):
        all_scores += scorer([sentence for sentence, _ in data[start : start + 64]])
    seconds = (time.perf_counter() - started) / len(data)
    rp, rr = [], []
    for (_, gold), scores in zip(data, all_scores, strict=True):
        targets = [position[g] for g in gold if g in position]
        top = set(np.argsort(-scores, kind="stable")[:5].tolist())
        rp.append(len(top & set(targets)) / min(5, len(gold)))
        if targets:
            rr.append(1.0 / (1 + int((scores > scores[targets].max()).sum())))
        else:
            rr.append(0.0)
    return float(np.mean(rp)), float(np.mean(rr)), seconds


def reference_scorers(concepts: list[SkillConcept], model: Embedder) -> dict[str, Scorer]:
    """The reference configurations: MiniLM cosine to the preferred label, and that averaged
    with scikit-learn's char_wb 2-4-gram TF-IDF cosine (the common "hybrid" baseline)."""
    from sklearn.feature_extraction.text import (  # type: ignore[import-untyped]
        TfidfVectorizer,
    )

    labels = [c.label for c in concepts]
    label_vectors = embed_cached(model, labels, CACHE)
    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    label_tfidf = tfidf.fit_transform(labels)

    def semantic(texts: Sequence[str]) -> list[np.ndarray[Any, Any]]:
        return list(model.embed(texts) @ label_vectors.T)

    def hybrid(texts: Sequence[str]) -> list[np.ndarray[Any, Any]]:
        lexical = (tfidf.transform(texts) @ label_tfidf.T).toarray()
        return [0.5 * s + 0.5 * lex for s, lex in zip(semantic(texts), lexical, strict=True)]

    return {"MiniLM alone": semantic, "MiniLM + char TF-IDF hybrid": hybrid}


def postings(count: int) -> list[str]:
    with (DATA / "job-postings" / "linkedin_2023_2024_sample500.csv").open(newline="") as handle:
        texts = [row["description"] for row in csv.DictReader(handle) if row["description"]]
    return texts[:count]


def throughput(index: SkillIndex, documents: list[str]) -> tuple[float, float, float]:
    """Postings per second, sentences per posting, skills per posting."""
    started = time.perf_counter()
    found = [index.extract(document) for document in documents]
    elapsed = time.perf_counter() - started
    return (
        len(documents) / elapsed,
        float(np.mean([e.sentences for e in found])),
        float(np.mean([len(e.matches) for e in found])),
    )


def fmt(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in values)


def section() -> list[str]:
    concepts = load_concepts()
    keys = [key(c.label) for c in concepts]
    sets = {name: load_set(file) for name, file in TEST_SETS.items()}
    extraction_sets = {name: load_sentences(file) for name, file in EXTRACTION_SETS.items()}
    n_variants = len(
        {(i, key(v)) for i, c in enumerate(concepts) for v in (c.label, *c.alt_labels)}
    )
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    timings: dict[str, dict[str, float]] = {}
    documents = postings(POSTINGS)

    started = time.perf_counter()
    hashed = SkillIndex.build(concepts, embedder=HashedEmbedder())
    timings["hashed"] = {"build": time.perf_counter() - started}
    results["microcred fallback (hashed, no ML extra)"] = {
        name: evaluate(hashed.scores_many, data, keys) for name, data in sets.items()
    }
    timings["hashed"]["throughput"], sentences_per, skills_hashed = throughput(hashed, documents)
    extraction: dict[str, dict[str, tuple[float, float, float, float]]] = {}
    extraction["hashed"] = {
        name: extraction_prf(hashed, extraction_sets[name]) for name in EXTRACTION_SETS
    }
    del hashed

    model_dir = bundled_model_dir()
    semantic_ok = model_dir is not None
    skills_semantic = 0.0
    cache_was_warm = CACHE.is_dir() and any(CACHE.rglob("*.npz"))
    if model_dir is not None:
        started = time.perf_counter()
        model = load_sentence_transformer(model_dir)
        timings["semantic"] = {"load": time.perf_counter() - started}
        started = time.perf_counter()
        semantic = SkillIndex.build(concepts, embedder=model, cache_dir=CACHE)
        timings["semantic"]["build"] = time.perf_counter() - started
        results["microcred hybrid (MiniLM, semantic)"] = {
            name: evaluate(semantic.scores_many, data, keys) for name, data in sets.items()
        }
        timings["semantic"]["throughput"], _, skills_semantic = throughput(semantic, documents)
        extraction["semantic"] = {
            name: extraction_prf(semantic, extraction_sets[name]) for name in EXTRACTION_SETS
        }
        del semantic
        for label, scorer in reference_scorers(concepts, model).items():
            results[f"reference: {label} (re-run)"] = {
                name: evaluate(scorer, data, keys) for name, data in sets.items()
            }

    lines = [
        "## Skill linking to ESCO (issue 5)",
        "",
        "Each sentence of the TECH and HOUSE (Decorte et al. 2022) and TECHWOLF (Decorte et al. "
        "2023) test sets is ranked against all "
        f"{len(concepts):,} ESCO v1.1.0 preferred labels; RP@5 (hits in the top 5 / min(5, gold)) "
        "and MRR over the sentences with at least one gold label "
        f"({', '.join(f'{n} {len(d)}' for n, d in sets.items())}). microcred also reads the "
        f"{n_variants - len(concepts):,} alternative labels of ESCO v1.1.1 (joined by preferred "
        "label). The weights and the extraction threshold were tuned on the TECH and HOUSE "
        "**validation** files only (TECHWOLF has no validation file); the test files were "
        "used for nothing but these figures. No prior (esco_priors.json) is used.",
        "",
        "| configuration | RP@5 TECH / HOUSE / TECHWOLF | MRR TECH / HOUSE / TECHWOLF | "
        "ms per sentence |",
        "|---|---|---|---|",
    ]
    for label, by_set in results.items():
        rp = [by_set[n][0] for n in sets]
        mrr = [by_set[n][1] for n in sets]
        ms = 1000 * float(np.mean([by_set[n][2] for n in sets]))
        lines.append(f"| {label} | {fmt(rp)} | {fmt(mrr)} | {ms:.0f} |")
    for label, values in REFERENCE.items():
        lines.append(f"| reference: {label} (documented) | {fmt(values)} | — | — |")
    lines.append(f"| target | {fmt(TARGET)} | — | — |")
    lines.append("")
    ours: dict[str, dict[str, tuple[float, float, float]] | None] = {
        "hybrid": results.get("microcred hybrid (MiniLM, semantic)"),
        "fallback": results["microcred fallback (hashed, no ML extra)"],
    }
    reference_run = results.get("reference: MiniLM + char TF-IDF hybrid (re-run)")
    for label, measured in ours.items():
        if measured is None:
            continue
        rp = [measured[n][0] for n in sets]
        ratio_doc = [
            r / ref for r, ref in zip(rp, REFERENCE["MiniLM + char TF-IDF hybrid"], strict=True)
        ]
        parts = [f"microcred {label}: ratio to the documented hybrid {fmt(ratio_doc)}"]
        if reference_run is not None:
            ratio_run = [r / reference_run[n][0] for r, n in zip(rp, sets, strict=True)]
            parts.append(f"to the re-run hybrid {fmt(ratio_run)}")
        gaps = [
            f"{name} misses by {t - r:.3f}"
            for name, r, t in zip(sets, rp, TARGET, strict=True)
            if r < t
        ]
        parts.append("; ".join(gaps) if gaps else "all three targets met")
        lines.append("- " + ", ".join(parts[:-1]) + "; " + parts[-1] + ".")
    lines.append("")
    hashed_t = timings["hashed"]
    lines.append(
        f"Index build ({len(concepts):,} concepts, {n_variants:,} label variants): hashed "
        f"{hashed_t['build']:.1f} s"
        + (
            f"; semantic {timings['semantic']['build']:.1f} s plus "
            f"{timings['semantic']['load']:.1f} s to load MiniLM (embedding cache under var/ "
            f"{'warm' if cache_was_warm else 'cold: this run embedded the labels'})"
            if semantic_ok
            else "; semantic: not run (the `ml` extra is not installed)"
        )
        + "."
    )
    lines.append(
        f"Extraction throughput on {len(documents)} real LinkedIn postings (2023-24, "
        f"{sentences_per:.0f} sentences each on average): hashed "
        f"{hashed_t['throughput']:.2f} postings/s ({skills_hashed:.1f} skills each)"
        + (
            f", semantic {timings['semantic']['throughput']:.2f} postings/s "
            f"({skills_semantic:.1f} skills each)"
            if semantic_ok
            else ""
        )
        + ", one process on the CPU."
    )
    lines.append("")
    lines.append(
        "End-to-end extraction: `index.extract(sentence)` at the shipped threshold and filters on "
        "every annotated sentence of the TECH and HOUSE test files ("
        + ", ".join(
            f"{n} {len(d)}, {sum(1 for _, g in d if not g)} of them with no ESCO label"
            for n, d in extraction_sets.items()
        )
        + "), predicted concepts against the gold labels, micro-averaged. Thresholds and "
        "filters were tuned on the validation files only."
    )
    lines.append("")
    lines.append(
        "| configuration | "
        + " | ".join(f"{n} P / R / F1" for n in EXTRACTION_SETS)
        + " | ms per sentence |"
    )
    lines.append("|---|" + "---|" * len(EXTRACTION_SETS) + "---|")
    for label, by_set in extraction.items():
        cells = [fmt(by_set[n][:3]) for n in EXTRACTION_SETS]
        ms = float(np.mean([by_set[n][3] for n in EXTRACTION_SETS]))
        lines.append(f"| microcred {label} | " + " | ".join(cells) + f" | {ms:.0f} |")
    lines.append("")
    lines.append(
        "The semantic side embeds preferred labels only (alternative labels take their "
        "concept's semantic score; the TF-IDF side reads all of them), because embedding 85k "
        "alternative labels on two CPU cores takes most of an hour."
    )
    return lines
