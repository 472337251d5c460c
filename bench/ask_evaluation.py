"""Grounded-answer evaluation (issue 6): retrieval, answers, citations and latency, offline.

`section()` returns Markdown lines for docs/benchmarks.md; `python -m bench.ask_evaluation`
prints them. The question set is bench/data/ask_questions.json: answerable questions per
persona, each with the starter-article section(s) that answer it, plus questions the sources
cannot answer. It covers the starter knowledge base only; the demo catalogue is not indexed yet.

For each embedder (hashed n-grams always; the bundled all-MiniLM-L6-v2 when it loads) the run
builds a `HybridIndex` over `starter_chunks()`, retrieves the top 5 chunks per question and
composes an answer from them with `compose(...)`.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from microcred.ask.answers import Answer, Citation, compose, strip_source_markers
from microcred.ask.chunking import Chunk
from microcred.ask.retrieval import Hit, HybridIndex
from microcred.ask.starter import starter_chunks, starter_documents, starter_sources
from microcred.kit.ai.embedder import (
    Embedder,
    EmbedderUnavailable,
    HashedEmbedder,
    bundled_model_dir,
    load_sentence_transformer,
)

QUESTIONS = Path(__file__).resolve().parent / "data" / "ask_questions.json"
PERSONAS = ("learner", "educator", "employer")
K = 5
SAMPLES = 5
SEED = 6


def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    questions: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["questions"]
    return questions


def chunk_is_gold(chunk: Chunk, gold: Sequence[dict[str, str]]) -> bool:
    """A chunk of a gold source whose own section is the gold heading, or holding the evidence.

    The section is the last heading on the chunk's path (an article's title is on every path of
    that article, so "contains" would let any chunk of it count for an introduction).
    """
    for g in gold:
        if chunk.source_id != g["source_id"]:
            continue
        if (chunk.heading_path and chunk.heading_path[-1] == g["heading"]) or (
            g["evidence"] in chunk.text
        ):
            return True
    return False


def citation_supports(citation: Citation, sentence: str, documents: dict[str, str]) -> bool:
    """Verbatim support: the answer sentence is the cited quote minus its markers, and the quote
    is really the source text at the cited offsets."""
    document_text = documents.get(citation.source_id, "")
    in_source = document_text[citation.start : citation.end] == citation.quote
    same = " ".join(strip_source_markers(citation.quote).split()) == " ".join(sentence.split())
    return in_source and same


@dataclass
class Run:
    name: str
    hits: dict[str, list[Hit]]
    answers: dict[str, Answer]
    retrieval_ms: list[float]
    compose_ms: list[float]
    build_s: float


def _run(name: str, embedder: Embedder, questions: list[dict[str, Any]]) -> Run:
    chunks = starter_chunks()
    sources = starter_sources()
    started = time.perf_counter()
    index = HybridIndex.build(chunks, embedder=embedder)
    build_s = time.perf_counter() - started
    index.search("warm up", k=K)
    hits: dict[str, list[Hit]] = {}
    answers: dict[str, Answer] = {}
    retrieval_ms: list[float] = []
    compose_ms: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        found = index.search(q["question"], k=K)
        t1 = time.perf_counter()
        answer = compose(q["question"], found, persona=q["persona"], sources=sources)
        t2 = time.perf_counter()
        hits[q["id"]] = found
        answers[q["id"]] = answer
        retrieval_ms.append((t1 - t0) * 1000)
        compose_ms.append((t2 - t1) * 1000)
    return Run(name, hits, answers, retrieval_ms, compose_ms, build_s)


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.0%} ({part}/{whole})" if whole else "n/a"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _document_texts() -> dict[str, str]:
    return {d.source_id: d.text for d in starter_documents()}


def _figures(run: Run, questions: list[dict[str, Any]]) -> dict[str, Any]:
    texts = _document_texts()
    answerable = [q for q in questions if q["answerable"]]
    unanswerable = [q for q in questions if not q["answerable"]]
    recall = sum(
        any(chunk_is_gold(h.chunk, q["gold"]) for h in run.hits[q["id"]]) for q in answerable
    )
    answered = {p: [0, 0] for p in PERSONAS}
    for q in answerable:
        answered[q["persona"]][1] += 1
        answered[q["persona"]][0] += not run.answers[q["id"]].abstained
    abstained = {p: [0, 0] for p in PERSONAS}
    for q in unanswerable:
        abstained[q["persona"]][1] += 1
        abstained[q["persona"]][0] += run.answers[q["id"]].abstained
    verbatim = relevant = cited = 0
    for q in answerable:
        answer = run.answers[q["id"]]
        for citation, sentence in zip(answer.citations, answer.sentences, strict=True):
            cited += 1
            verbatim += citation_supports(citation, sentence, texts)
            relevant += any(
                c.source_id == citation.source_id
                and c.start <= citation.start < c.end
                and chunk_is_gold(c, q["gold"])
                for c in (h.chunk for h in run.hits[q["id"]])
            )
    return {
        "recall": _pct(recall, len(answerable)),
        "answered": answered,
        "abstained": abstained,
        "answered_all": _pct(sum(v[0] for v in answered.values()), len(answerable)),
        "abstained_all": _pct(sum(v[0] for v in abstained.values()), len(unanswerable)),
        "verbatim": _pct(verbatim, cited),
        "relevant": _pct(relevant, cited),
        "retrieval": (statistics.median(run.retrieval_ms), _quantile(run.retrieval_ms, 0.95)),
        "compose": (statistics.median(run.compose_ms), _quantile(run.compose_ms, 0.95)),
    }


def _embedders() -> tuple[list[tuple[str, Embedder]], str]:
    embedders: list[tuple[str, Embedder]] = [("hashed n-grams", HashedEmbedder())]
    model_dir = bundled_model_dir()
    if model_dir is None:
        return (
            embedders,
            "the semantic embedder is not installed (no `ml` extra), so only the hashed one ran",
        )
    try:
        semantic = load_sentence_transformer(model_dir)
    except EmbedderUnavailable as error:
        return (
            embedders,
            f"the semantic embedder did not load ({error}), so only the hashed one ran",
        )
    embedders.append((f"semantic ({semantic.name})", semantic))
    return embedders, ""


def section() -> list[str]:
    questions = load_questions()
    answerable = [q for q in questions if q["answerable"]]
    embedders, note = _embedders()
    runs = [_run(name, embedder, questions) for name, embedder in embedders]
    figures = [_figures(run, questions) for run in runs]
    per_persona = {p: sum(1 for q in answerable if q["persona"] == p) for p in PERSONAS}
    lines = [
        "## Grounded answers: evaluation (issue 6)",
        "",
        f"{len(questions)} questions in `bench/data/ask_questions.json`: {len(answerable)} "
        "answerable from the starter knowledge base ("
        + ", ".join(f"{per_persona[p]} {p}" for p in PERSONAS)
        + f") and {len(questions) - len(answerable)} it cannot answer (visa rules, a named "
        "university's fees, unrelated topics, and near-misses that share words with the "
        "articles). **Starter knowledge base only**: the demo catalogue is not indexed yet, so "
        "no question is about it. The set was written within the project, not by independent "
        "annotators, so treat the figures as a smoke test, not a held-out score.",
        "",
        f"Index: `HybridIndex` over `starter_chunks()` ({len(starter_chunks())} chunks), top "
        f"{K} per question; answers by `compose(question, hits, persona=, sources=)`, offline."
        + (f" Note: {note}." if note else ""),
        "",
        "| Measure | " + " | ".join(run.name for run in runs) + " |",
        "|---|" + "---|" * len(runs),
        "| Retrieval recall@5 (answerable) | " + " | ".join(f["recall"] for f in figures) + " |",
        "| Answer rate, answerable (want high) | "
        + " | ".join(f["answered_all"] for f in figures)
        + " |",
    ]
    for p in PERSONAS:
        lines.append(
            f"| &nbsp;&nbsp;{p} | " + " | ".join(_pct(*f["answered"][p]) for f in figures) + " |"
        )
    lines.append(
        "| Abstention rate, unanswerable (want high) | "
        + " | ".join(f["abstained_all"] for f in figures)
        + " |"
    )
    for p in PERSONAS:
        lines.append(
            f"| &nbsp;&nbsp;{p} | " + " | ".join(_pct(*f["abstained"][p]) for f in figures) + " |"
        )
    lines += [
        "| Citation precision, verbatim support | "
        + " | ".join(f["verbatim"] for f in figures)
        + " |",
        "| Citation relevance (cited chunk is a gold section) | "
        + " | ".join(f["relevant"] for f in figures)
        + " |",
        "| Retrieval latency p50 / p95 | "
        + " | ".join(f"{f['retrieval'][0]:.1f} / {f['retrieval'][1]:.1f} ms" for f in figures)
        + " |",
        "| Compose latency p50 / p95 | "
        + " | ".join(f"{f['compose'][0]:.2f} / {f['compose'][1]:.2f} ms" for f in figures)
        + " |",
        "| Index build (embed all chunks) | "
        + " | ".join(f"{r.build_s:.2f} s" for r in runs)
        + " |",
        "| With an LLM | "
        + " | ".join(
            "not configured in this run (no OpenAI-compatible endpoint); the offline path is "
            "what is measured"
            for _ in runs
        )
        + " |",
        "",
        "What the measures mean:",
        "",
        "- **Recall@5**: a question counts when one of its top-5 chunks belongs to a gold "
        "article and either its own section (last heading on its path) is the gold heading or "
        "its text holds the gold evidence phrase.",
        "- **Answer rate / abstention rate**: share of answerable questions that got an answer, "
        "and share of unanswerable ones where `compose` abstained. An answer to an answerable "
        "question may still be off-topic; the relevance row is the check on that.",
        "- **Citation precision, verbatim support**: per cited sentence, the quote is exactly "
        "`document.text[start:end]` and the answer sentence equals it minus the article's `[n]` "
        "markers. It checks that nothing was invented or altered; it is true by construction of "
        "the extractive composer, so it cannot show that a quote is on topic.",
        "- **Citation relevance**: per cited sentence on an answerable question, the chunk it "
        "was quoted from is a gold section for that question (same test as recall). Stricter: "
        "it fails a faithful quote from the wrong section, though a quote from a non-gold "
        "section can still be a fair answer, so this is a lower bound on usefulness.",
        "- **Latency**: wall time per question on this machine, one process, after a warm-up "
        "query; retrieval includes embedding the question.",
        "",
    ]
    run = runs[-1]
    sample = random.Random(SEED).sample(questions, SAMPLES)
    lines += [
        f"Spot check: {SAMPLES} questions sampled with seed {SEED}, answered with the "
        f"{run.name} index. The spot check is left to the reader: these are printed so a "
        "person can judge them; no human judgement is included in the figures above.",
        "",
    ]
    for q in sample:
        answer = run.answers[q["id"]]
        kind = "answerable" if q["answerable"] else "unanswerable"
        lines.append(f"- **{q['id']}** ({q['persona']}, {kind}): {q['question']}")
        if answer.abstained:
            lines.append(f"  - abstained: {answer.reason}")
            continue
        lines.append("  - answer: " + " ".join(answer.text.split()))
        for citation in answer.citations:
            lines.append(
                f"  - [{citation.number}] {citation.source_id} > "
                f"{' / '.join(citation.heading_path[1:]) or '(introduction)'}"
            )
    return lines


if __name__ == "__main__":
    print("\n".join(section()))
