"""Grounded-answer evaluation (issue 6): retrieval, answers, citations and latency, offline.

`section()` returns Markdown lines for docs/benchmarks.md; `python -m bench.ask_evaluation`
prints them. The question set is bench/data/ask_questions.json: answerable questions per
persona, each with the passage(s) that answer it, plus questions the sources cannot answer.

The knowledge base under evaluation is the starter articles plus the demo catalogue. The
catalogue is built without a database by `demo_catalogue_entries()`, from the constants the
demo seeds (`microcred.demo.ACHIEVEMENTS`, `microcred.demo_skills.CATALOGUE` and
`BASE_PREREQUISITES`), with ESCO skill labels read from the bundled framework CSV; ids are
`uuid5` of the slug, so catalogue source ids are stable between runs. Catalogue questions name
their gold by achievement slug (or the overview page) and section heading; they are resolved
to source ids here.

For each embedder (hashed n-grams always; the bundled all-MiniLM-L6-v2 when it loads) the run
builds a `HybridIndex`, retrieves the top 5 chunks per question and composes an answer from
them with `compose(..., term_weights=index.term_weights(question))`. Citations are judged by
`microcred.ask.citation_check`.
"""

from __future__ import annotations

import csv
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from microcred.ask.answers import Answer, Citation, compose
from microcred.ask.catalogue import (
    CATALOGUE_PREFIX,
    OVERVIEW_KEY,
    CatalogueEntry,
    achievement_document,
    overview_document,
    source_key,
)
from microcred.ask.chunking import Chunk, Document, chunk
from microcred.ask.citation_check import SupportJudgement, citation_judgements
from microcred.ask.retrieval import Hit, HybridIndex
from microcred.ask.service import OWN_SOURCE_BONUS
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
SPOT_CHECKS = 10
SEED = 6
DEMO_INSTITUTION = "Demo University"
DEMO_URL = "https://demo-university.example/achievements/"
# Fixed namespace for the demo catalogue's ids: uuid5(namespace, slug) is the same every run.
CATALOGUE_NAMESPACE = uuid.UUID("6d1c5f4e-0a57-4c6b-9f5e-3a2b7c1d0e06")
ESCO_SKILLS_CSV = "skills_en.csv"


def catalogue_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(CATALOGUE_NAMESPACE, slug)


@cache
def _esco_labels() -> dict[str, str]:
    """ESCO skill URI -> preferred label, from the bundled framework CSV (no database)."""
    from microcred.catalog.framework import bundled_directory

    with (bundled_directory() / ESCO_SKILLS_CSV).open(encoding="utf-8", newline="") as handle:
        return {row["conceptUri"]: row["preferredLabel"] for row in csv.DictReader(handle)}


def demo_catalogue_entries() -> list[CatalogueEntry]:
    """The demo institution's twelve achievements as `CatalogueEntry` values, no database.

    Mirrors what `demo.seed` and `demo_skills.seed_skills` store: the three base achievements
    (`demo.ACHIEVEMENTS`), the nine of `demo_skills.CATALOGUE` (criteria as `seed_skills`
    writes them), and the prerequisites of both (`BASE_PREREQUISITES` and each row's own).
    """
    from microcred import demo, demo_skills

    labels = _esco_labels()
    rows: list[dict[str, Any]] = []
    for achievement in demo.ACHIEVEMENTS:
        rows.append(
            {
                "slug": achievement.slug,
                "name": achievement.name,
                "description": achievement.description,
                "criteria": achievement.criteria_narrative,
                "hours": achievement.hours,
                "cost": achievement.cost,
                "currency": achievement.currency,
                "delivery": achievement.delivery,
                "endorsements": tuple(achievement.endorsements),
                "skills": tuple(str(a.target_url) for a in achievement.alignments),
                "needs": tuple(demo_skills.BASE_PREREQUISITES.get(achievement.slug, ())),
                "validity_months": achievement.validity_months,
                "result_names": tuple(r.name for r in achievement.result_descriptions),
            }
        )
    for (
        slug,
        name,
        description,
        hours,
        cost,
        delivery,
        endorsed,
        skills,
        needs,
    ) in demo_skills.CATALOGUE:
        rows.append(
            {
                "slug": slug,
                "name": name,
                "description": description,
                "criteria": "Completed the course work and passed its assessment.",
                "hours": Decimal(hours),
                "cost": Decimal(cost),
                "currency": "EUR",
                "delivery": delivery,
                "endorsements": tuple(endorsed),
                "skills": tuple(demo_skills.SKILL + uri for uri in skills),
                "needs": tuple(needs),
                "validity_months": None,
                "result_names": (),
            }
        )
    names = {row["slug"]: row["name"] for row in rows}
    return [
        CatalogueEntry(
            id=catalogue_id(row["slug"]),
            name=row["name"],
            description=row["description"],
            criteria=row["criteria"],
            url=DEMO_URL + row["slug"],
            hours=row["hours"],
            cost=row["cost"],
            currency=row["currency"],
            delivery=row["delivery"],
            skills=tuple(labels.get(uri, uri) for uri in row["skills"]),
            prerequisites=tuple(names[slug] for slug in row["needs"]),
            endorsements=row["endorsements"],
            validity_months=row["validity_months"],
            result_names=row["result_names"],
        )
        for row in rows
    ]


def catalogue_documents() -> list[Document]:
    """One page per demo achievement plus the catalogue overview."""
    entries = demo_catalogue_entries()
    return [
        *(achievement_document(e) for e in entries),
        overview_document(DEMO_INSTITUTION, entries),
    ]


def knowledge_base() -> tuple[list[Chunk], dict[str, str]]:
    """The chunks under evaluation (starter + demo catalogue) and every document's text."""
    documents = [*starter_documents(), *catalogue_documents()]
    chunks = [*starter_chunks(), *(c for d in catalogue_documents() for c in chunk(d))]
    return chunks, {d.source_id: d.text for d in documents}


def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    questions: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["questions"]
    return questions


def gold_source_id(gold: dict[str, str]) -> str:
    """The source id a gold label names: its `source_id`, or the page of its `achievement`."""
    if "achievement" in gold:
        return source_key(catalogue_id(gold["achievement"]))
    return gold["source_id"]


def is_catalogue_question(question: dict[str, Any]) -> bool:
    return any("achievement" in g or g.get("source_id") == OVERVIEW_KEY for g in question["gold"])


def chunk_is_gold(chunk_: Chunk, gold: Sequence[dict[str, str]]) -> bool:
    """A chunk of a gold source whose own section is the gold heading, or holding the evidence.

    The section is the last heading on the chunk's path (an article's title is on every path of
    that article, so "contains" would let any chunk of it count for an introduction).
    """
    for g in gold:
        if chunk_.source_id != gold_source_id(g):
            continue
        if (chunk_.heading_path and chunk_.heading_path[-1] == g["heading"]) or (
            g["evidence"] in chunk_.text
        ):
            return True
    return False


@dataclass
class Run:
    name: str
    hits: dict[str, list[Hit]]
    answers: dict[str, Answer]
    answer_ms: list[float]
    build_s: float
    chunks: int


def _own_source(chunk_: Chunk) -> tuple[float, str]:
    """The service's prior: the institution's own catalogue first on a near-tie."""
    if chunk_.source_id.startswith(CATALOGUE_PREFIX):
        return OWN_SOURCE_BONUS, "own catalogue"
    return 0.0, ""


def _answer(index: HybridIndex, question: str, persona: Any) -> tuple[list[Hit], Answer]:
    found = index.search(question, k=K, prior=_own_source)
    answer = compose(
        question,
        found,
        persona=persona,
        sources=starter_sources(),
        term_weights=index.term_weights(question),
    )
    return found, answer


def _run(name: str, embedder: Embedder, questions: list[dict[str, Any]]) -> Run:
    chunks, _ = knowledge_base()
    started = time.perf_counter()
    index = HybridIndex.build(chunks, embedder=embedder)
    build_s = time.perf_counter() - started
    _answer(index, "warm up", "unspecified")
    hits: dict[str, list[Hit]] = {}
    answers: dict[str, Answer] = {}
    answer_ms: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        found, answer = _answer(index, q["question"], q["persona"])
        answer_ms.append((time.perf_counter() - t0) * 1000)
        hits[q["id"]] = found
        answers[q["id"]] = answer
    return Run(name, hits, answers, answer_ms, build_s, len(chunks))


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.0%} ({part}/{whole})" if whole else "n/a"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def swapped_citations(answers: Sequence[Answer]) -> list[Answer]:
    """Each answer's text with the next answer's citations (renumbered): a corrupted set.

    Answer i keeps its sentences and markers but cites the quotes of answer i+1 (cyclically),
    citation by citation, so every marker now points at a passage written for another question.
    """
    out: list[Answer] = []
    for i, answer in enumerate(answers):
        other = answers[(i + 1) % len(answers)]
        swapped = [
            Citation(
                number=mine.number,
                source_id=theirs.source_id,
                heading_path=theirs.heading_path,
                quote=theirs.quote,
                start=theirs.start,
                end=theirs.end,
                sources=theirs.sources,
            )
            for mine, theirs in zip(
                answer.citations,
                (other.citations[j % len(other.citations)] for j in range(len(answer.citations))),
                strict=True,
            )
        ]
        out.append(
            Answer(
                text=answer.text,
                citations=swapped,
                abstained=False,
                reason="citations swapped for the checker's negative control",
                persona=answer.persona,
                sentences=answer.sentences,
            )
        )
    return out


def _precision(answers: Sequence[Answer], texts: dict[str, str]) -> tuple[int, int]:
    supported = total = 0
    for answer in answers:
        for j in citation_judgements(answer, texts):
            total += 1
            supported += j.judgement.supported
    return supported, total


Counts = dict[str, list[int]]


def _by_persona(questions: Sequence[dict[str, Any]], hit: Any) -> tuple[Counts, list[int]]:
    """[hits, total] per persona and overall, `hit(q)` deciding each question."""
    counts: Counts = {p: [0, 0] for p in PERSONAS}
    for q in questions:
        counts[q["persona"]][1] += 1
        counts[q["persona"]][0] += bool(hit(q))
    overall = [sum(v[0] for v in counts.values()), sum(v[1] for v in counts.values())]
    return counts, overall


def _figures(run: Run, questions: list[dict[str, Any]], texts: dict[str, str]) -> dict[str, Any]:
    answerable = [q for q in questions if q["answerable"]]
    unanswerable = [q for q in questions if not q["answerable"]]
    subsets = {
        "starter": [q for q in answerable if not is_catalogue_question(q)],
        "catalogue": [q for q in answerable if is_catalogue_question(q)],
    }

    def recalled(q: dict[str, Any]) -> bool:
        return any(chunk_is_gold(h.chunk, q["gold"]) for h in run.hits[q["id"]])

    def answered(q: dict[str, Any]) -> bool:
        return not run.answers[q["id"]].abstained

    answered_answers = [a for a in run.answers.values() if not a.abstained]
    precision: dict[str, tuple[int, int]] = {"all": _precision(answered_answers, texts)}
    for p in PERSONAS:
        precision[p] = _precision(
            [run.answers[q["id"]] for q in questions if q["persona"] == p and answered(q)], texts
        )
    swapped = swapped_citations(answered_answers) if len(answered_answers) > 1 else []
    return {
        "recall": _by_persona(answerable, recalled),
        "recall_subsets": {k: _by_persona(v, recalled)[1] for k, v in subsets.items()},
        "answered": _by_persona(answerable, answered),
        "answered_subsets": {k: _by_persona(v, answered)[1] for k, v in subsets.items()},
        "abstained": _by_persona(unanswerable, lambda q: not answered(q)),
        "precision": precision,
        "corrupted": _precision(swapped, texts),
        "latency": (statistics.median(run.answer_ms), _quantile(run.answer_ms, 0.95)),
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


def _llm_note() -> str:
    if not os.environ.get("MICROCRED_LLM_BASE_URL"):
        return "not configured in this run (`MICROCRED_LLM_BASE_URL` unset)"
    try:
        import microcred.ask.llm_answers  # noqa: F401
    except ImportError:
        return "an endpoint is configured, but `ask.llm_answers` is not available"
    return (
        "an endpoint is configured, but this section measures the offline composer only; "
        "LLM answers are not evaluated here yet"
    )


def _cell(counts: list[int]) -> str:
    return _pct(counts[0], counts[1])


def _clip(text: str, limit: int = 110) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def section() -> list[str]:
    questions = load_questions()
    answerable = [q for q in questions if q["answerable"]]
    catalogue_qs = [q for q in answerable if is_catalogue_question(q)]
    unanswerable = [q for q in questions if not q["answerable"]]
    embedders, note = _embedders()
    runs = [_run(name, embedder, questions) for name, embedder in embedders]
    _, texts = knowledge_base()
    figures = [_figures(run, questions, texts) for run in runs]
    per_persona = {p: sum(1 for q in questions if q["persona"] == p) for p in PERSONAS}
    llm = _llm_note()

    def row(label: str, cells: Sequence[str]) -> str:
        return f"| {label} | " + " | ".join(cells) + " |"

    def persona_rows(key: str) -> list[str]:
        return [row(f"&nbsp;&nbsp;{p}", [_cell(f[key][0][p]) for f in figures]) for p in PERSONAS]

    lines = [
        "## Grounded answers: evaluation (issue 6)",
        "",
        f"{len(questions)} questions in `bench/data/ask_questions.json` ("
        + ", ".join(f"{per_persona[p]} {p}" for p in PERSONAS)
        + f"): {len(answerable) - len(catalogue_qs)} answerable from the starter articles, "
        f"{len(catalogue_qs)} answerable from the demo catalogue (costs, hours, prerequisites, "
        "delivery, skills, endorsements, validity, the cheapest, how many), and "
        f"{len(unanswerable)} the sources cannot answer (visa rules, a named university's fees, "
        'unrelated topics, and near-misses that share words with the sources: "How do I bake a '
        'credential?", "What is the refund policy?", "Does the Data Cleaning course include '
        "a job guarantee?\", the next cohort's start date). The set was written within the "
        "project, not by independent annotators: treat the figures as a smoke test, not a "
        "held-out score.",
        "",
        f"Knowledge base: `starter_chunks()` plus the demo catalogue, built without a database "
        "by `demo_catalogue_entries()` from the constants the demo seeds (12 achievements, "
        "uuid5 ids, ESCO labels from the bundled CSV), as `achievement_document` pages and the "
        f"`overview_document`, chunked with `chunk` ({runs[0].chunks} chunks in all). Top {K} "
        "chunks per question by `HybridIndex.search` (with the service's prior: the "
        "institution's own catalogue +0.1 on a near-tie); answers by `compose(question, hits, "
        "persona=, sources=, term_weights=index.term_weights(question))`, offline."
        + (f" Note: {note}." if note else ""),
        "",
        "| Measure | " + " | ".join(run.name for run in runs) + " |",
        "|---|" + "---|" * len(runs),
        row("Retrieval recall@5 (answerable)", [_cell(f["recall"][1]) for f in figures]),
        *persona_rows("recall"),
        row(
            "&nbsp;&nbsp;starter / catalogue questions",
            [
                f"{_cell(f['recall_subsets']['starter'])} / "
                f"{_cell(f['recall_subsets']['catalogue'])}"
                for f in figures
            ],
        ),
        row("Answer rate, answerable (want high)", [_cell(f["answered"][1]) for f in figures]),
        *persona_rows("answered"),
        row(
            "&nbsp;&nbsp;starter / catalogue questions",
            [
                f"{_cell(f['answered_subsets']['starter'])} / "
                f"{_cell(f['answered_subsets']['catalogue'])}"
                for f in figures
            ],
        ),
        row(
            "Abstention rate, unanswerable (want high)",
            [_cell(f["abstained"][1]) for f in figures],
        ),
        *persona_rows("abstained"),
        row(
            "Citation precision (checker, every citation of every answer given)",
            [_pct(*f["precision"]["all"]) for f in figures],
        ),
        *[row(f"&nbsp;&nbsp;{p}", [_pct(*f["precision"][p]) for f in figures]) for p in PERSONAS],
        row(
            "Citation precision, citations swapped between answers (negative control, want low)",
            [_pct(*f["corrupted"]) for f in figures],
        ),
        row(
            "Answer latency p50 / p95 (retrieval + compose)",
            [f"{f['latency'][0]:.1f} / {f['latency'][1]:.1f} ms" for f in figures],
        ),
        row("Index build (embed all chunks)", [f"{r.build_s:.2f} s" for r in runs]),
        row("With an LLM", [llm for _ in runs]),
        "",
        "What the measures mean:",
        "",
        "- **Recall@5**: a question counts when one of its top-5 chunks belongs to a gold "
        "source and either its own section (last heading on its path) is the gold heading or "
        "its text holds the gold evidence phrase. Catalogue gold names the achievement by slug "
        "(resolved to `catalogue/<uuid5>`) or the overview page.",
        "- **Answer rate / abstention rate**: share of answerable questions that got an answer, "
        "and share of unanswerable ones where `compose` abstained.",
        "- **Citation precision**: `ask.citation_check.citation_judgements` over every "
        "citation of every non-abstained answer (answerable or not): the answer sentence that "
        "carries the marker `[n]` against the source text at citation n's offsets. Supported "
        "when at least 60% of the sentence's content terms are in the passage, every number "
        "in the sentence is in the passage with the same unit, and neither side negates the "
        "shared terms alone. For the extractive composer the quotes are verbatim, so 100% is "
        "expected and shows only that nothing was altered; the swapped row shows the checker "
        "does reject a citation that points at the wrong passage. It matters for LLM answers "
        "and staff corrections.",
        "- **Latency**: wall time per question on this machine, one process, after a warm-up "
        "query: retrieval (including embedding the question) plus composing the answer.",
        "",
        "How the abstention thresholds were chosen: `compose` weights question terms by idf "
        "over the indexed chunks and abstains when the quoted sentences cover less than "
        "`MIN_COVERAGE` (50%, the value the composer already had, not re-tuned) of the "
        "question's term weight, or miss a single term carrying more than `MAX_MISSING_SHARE` "
        "(45%) of it. 45% was picked on the starter-article subset alone (39 answerable, 12 "
        "unanswerable): the strictest value that cost no answer there (35% and 40% lost "
        "answers; 45% to 100% scored the same on that subset). Then both were checked, "
        "unchanged, on the catalogue questions and the 12 new near-miss questions; no "
        "threshold was tuned per question. On that check a lower `MIN_COVERAGE` of 40% would "
        "answer more (about 95% of answerable) but abstain less (about 79%): the trade-off is "
        "real, and the set is small.",
        "",
    ]
    lines += _failures(runs[0], questions)
    lines += _spot_check(runs[0], texts)
    return lines


def _failures(run: Run, questions: list[dict[str, Any]]) -> list[str]:
    wrong = [q for q in questions if run.answers[q["id"]].abstained == bool(q["answerable"])]
    if not wrong:
        return []
    lines = [
        f"Misjudged questions with the {run.name} index (answered when unanswerable, or "
        "abstained when answerable):",
        "",
    ]
    for q in wrong:
        answer = run.answers[q["id"]]
        what = answer.reason if answer.abstained else "answered: " + _clip(answer.text, 160)
        kind = "answerable" if q["answerable"] else "unanswerable"
        lines.append(f"- **{q['id']}** ({kind}) {q['question']} \u2014 {_clip(what, 200)}")
    return [*lines, ""]


def _spot_check(run: Run, texts: dict[str, str]) -> list[str]:
    judged: list[tuple[str, SupportJudgement, str, str]] = []
    answered = [a for a in run.answers.values() if not a.abstained]
    for answer in answered:
        for j in citation_judgements(answer, texts):
            judged.append(("answer", j.judgement, j.sentence, j.passage))
    for answer in swapped_citations(answered):
        for j in citation_judgements(answer, texts):
            judged.append(("swapped", j.judgement, j.sentence, j.passage))
    rng = random.Random(SEED)
    sample = rng.sample(judged, min(SPOT_CHECKS, len(judged)))
    lines = [
        f"Spot check: {len(sample)} citation judgements drawn with seed {SEED} from the "
        f"{run.name} run, from the real answers and the swapped negative control together, "
        "printed for checking by hand.",
        "",
        "| Set | Answer sentence | Cited passage | Verdict (score): reason |",
        "|---|---|---|---|",
    ]
    for kind, judgement, sentence, passage in sample:
        lines.append(
            f"| {kind} | {_clip(sentence)} | {_clip(passage)} | {judgement.verdict} "
            f"({judgement.score:.2f}): {_clip(judgement.reason, 140)} |"
        )
    lines += [
        "",
        "Checked by hand (the sample of this seed, 2026-11-22 22:36 run): the five real "
        "citations are verbatim quotes that say what their sentence says, and the checker "
        "calls them supported; the five swapped ones cite a passage about something else and "
        "are called unsupported. No verdict in the sample was wrong. Outside the sample, of the "
        "4 swapped citations the hashed run still accepts, 3 are the same quote cited by two "
        'neighbouring answers (so the swap changed nothing and "supported" is right) and 1 is '
        'a catalogue sentence from one template ("To earn <name>: Completed the course work '
        'and passed its assessment." for two achievements, differing only in the name, which '
        "passes the 60% recall bar): a known blind spot, since the checker counts words and "
        "does not know which words name the subject.",
    ]
    return [*lines, ""]


if __name__ == "__main__":
    print("\n".join(section()))
