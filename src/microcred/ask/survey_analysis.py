"""Stakeholder-survey analysis: KPIs, answer quality, persona differences, A/B, CSV export.

Pure functions over plain records (no database, no HTTP). `analyse` returns a `SurveyReport`
made of frozen dataclasses whose fields are strings, numbers, None, tuples and dicts with
string keys, so `dataclasses.asdict` gives JSON directly (no NaN or infinity ever appears: an
undefined figure is None). The same inputs always give the same report.

Totals and timeline
    started = every response; submitted = status "submitted"; completion rate =
    submitted / started (None when nothing started), overall, per persona and per arm.
    The timeline buckets responses by the UTC date of `started_at` (started) and of
    `submitted_at` (submitted), from the first start to `now` (or to the last activity when that
    is later). Spans over 60 days use ISO weeks (Monday to Sunday) instead of days.

Answer quality (free-text answers only; a question missing from `answers` is unanswered)
    non_answer: the first matching rule, in this order: empty or whitespace; a stock non-answer
    ("n/a", "idk", "don't know", "no comment", "nothing", "none", "-", ".", "?" and kin, compared
    after lower-casing and dropping punctuation); fewer than 2 letters; keyboard mash or
    repeated characters (every word is a run of >= 4 adjacent keys on a QWERTY row, a 1-3
    character unit repeated to >= 6 characters, or 5+ letters without a vowel, or the whole text
    uses at most 2 distinct characters); a copy of the question or of the companion answer:
    containment = share of the answer's word 3-grams (its words, below 3 words) found in the
    source; >= 0.8 means copied, except that an answer under 3 words must equal the source.
    words: word tokens (`microcred.kit.ai.embedder.words`).
    specificity = 0.5 * c + 0.25 * min(1, d / 8) + 0.25 * min(1, k / 2) (0 for a non-answer),
    where c = content words / words (content: not a stop word and not a generic word like
    "good", "thing", "useful"), d = distinct content words, k = distinct concrete signals
    (numbers, and named terms: a word with a capital inside it or in all capitals, or
    capitalised where no sentence starts).
    on_topic = cosine(embed(question prompt), embed(answer)), in [-1, 1].
    quality = 0.4 * specificity + 0.25 * min(1, ln(1 + words) / ln(31))
              + 0.35 * clip(on_topic / 0.5, 0, 1); a non-answer scores 0. The 0.5 is where the
    topic term saturates: the cosine of a clearly on-topic answer with the sentence model; the
    hashed embedder gives lower cosines, so its on-topic term is harsher but still ordered.
    Aggregates (overall, per question, per persona, per arm, per question and persona): number
    of answers, mean quality, share of non-answers, mean words.

Persona differences, per question
    single choice: persona x option table of counts (options nobody chose are left out of the
    test). Pearson's chi-square test of independence (scipy.stats.chi2_contingency, which
    applies Yates' correction when dof = 1) and Cramer's V = sqrt(chi2 / (n * (min(r, c) - 1))),
    only when at least 2 personas answered and every persona that answered has >= 5 answers;
    otherwise "too few answers for a test".
    multiple choice: the options are not exclusive, so one table per option, persona x
    {selected, not selected}, each with the chi-square test and V as above; the p-values are
    Holm-adjusted across the options and the question's test is the option with the smallest
    adjusted p. Shares are of the persona's respondents and need not sum to 1.
    scale: per persona n, mean, median and counts per scale point (1..5, or the integers in
    the option labels such as "1 = never" / "7 = always", or one point per label when there
    are more than two). Kruskal-Wallis H test (scipy.stats.kruskal) with the same >= 5 rule;
    epsilon-squared = H / (n - 1) as its effect size.
    free text: themes. The question's answers that are not non-answers are embedded and
    clustered by average-linkage agglomerative clustering on cosine distance
    (scipy.cluster.hierarchy), cut into k = 2..8 clusters with k chosen by the best mean
    silhouette; when no cut reaches a silhouette of 0.05, or there are fewer than 3 answers,
    everything is one theme. No randomness. A theme's label is its 3 highest c-TF-IDF terms:
    weight(t, c) = tf(t, c) / |c| * ln(1 + A / f(t)), where |c| is the cluster's term count, A
    the mean term count per cluster and f(t) the term's count over all clusters (stop words and
    words under 3 letters removed). Quotes: up to 3 answers nearest the normalised centroid,
    taking one per persona first. Distinctive terms per persona against the other personas:
    weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008),
    alpha_w = the question's pooled count of w, alpha_0 = the pooled total n:
    delta_w = ln((y_iw + a_w) / (n_i + a_0 - y_iw - a_w)) - ln((y_jw + a_w) / (n_j + a_0 - y_jw
    - a_w)), z_w = delta_w / sqrt(1 / (y_iw + a_w) + 1 / (y_jw + a_w)); the 5 highest positive
    z per persona. Themes are descriptive: no test is run on them.
    Each question gets one plain-language summary; a difference is called statistically
    significant only when p < 0.05.

A/B (arm "shown" against arm "hidden"; only when both arms have respondents)
    completion rate: two-proportion z-test with the pooled standard error, two-sided; Fisher's
    exact test (scipy.stats.fisher_exact, two-sided; its statistic is the odds ratio) instead
    whenever an expected cell of the 2 x 2 table is below 5. The difference shown - hidden has
    Newcombe's hybrid score 95% interval (method 10, from the two Wilson intervals).
    free-text quality (every scored answer, non-answers as 0): Mann-Whitney U, two-sided
    (scipy.stats.mannwhitneyu, U of the shown arm); rank-biserial r = 2U / (n_shown * n_hidden)
    - 1, positive when the shown arm's answers rank higher.

`to_csv` writes one row per response; any cell starting with =, +, -, @, a tab or a carriage
return gets a leading apostrophe so a spreadsheet never runs it as a formula.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import stats  # type: ignore[import-untyped]
from scipy.cluster import hierarchy  # type: ignore[import-untyped]
from scipy.spatial.distance import squareform  # type: ignore[import-untyped]

from microcred.kit.ai.embedder import Embedder, HashedEmbedder, words

FREE_TEXT: Final = "free_text"
SINGLE_CHOICE: Final = "single_choice"
MULTIPLE_CHOICE: Final = "multiple_choice"
SCALE: Final = "scale"
KINDS: Final = (FREE_TEXT, SINGLE_CHOICE, MULTIPLE_CHOICE, SCALE)
PERSONAS: Final = ("learner", "educator", "employer", "unspecified")
ARMS: Final = ("shown", "hidden")
STATUSES: Final = ("started", "submitted")
DISPLAYS: Final = ("before", "after", "none")

TOO_FEW: Final = "too few answers for a test"
MIN_GROUP: Final = 5
ALPHA: Final = 0.05
TIMELINE_WEEKS_AFTER_DAYS: Final = 60
MAX_THEMES: Final = 8
MIN_SILHOUETTE: Final = 0.05
MAX_QUOTES: Final = 3
COPY_CONTAINMENT: Final = 0.8
ON_TOPIC_FULL: Final = 0.5
LENGTH_FULL_WORDS: Final = 30

REASON_EMPTY: Final = "empty"
REASON_STOCK: Final = "stock non-answer"
REASON_FEW_LETTERS: Final = "fewer than 2 letters"
REASON_MASH: Final = "keyboard mash or repeated characters"
REASON_COPIED_QUESTION: Final = "copied the question"
REASON_COPIED_COMPANION: Final = "copied the companion answer"

# fmt: off
_STOP_WORDS_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can cannot could did do does doing done don down during each even ever
every few for from further get gets got had has have having he her here hers herself him himself
his how however i if in into is isn it its itself just let like lot lots make makes many may me
might more most much must my myself no nor not now of off often on once one only or other our
ours ourselves out over own per quite rather really same she should so some such than that the
their theirs them themselves then there these they thing things this those through to too under
until up upon us very via was way we were what when where whether which while who whom whose why
will with within without would yes yet you your yours yourself yourselves im ive id dont doesnt
didnt isnt arent wasnt cant wont think thinks know maybe etc
"""
STOP_WORDS: Final = frozenset(_STOP_WORDS_TEXT.split())
# Words that say nothing concrete about micro-credentials: an answer made of them is vague.
_GENERIC_WORDS_TEXT = """
good great nice bad fine okay ok important useful helpful interesting relevant valuable
better best worse stuff something anything everything nothing kind sort generally overall
basically definitely probably pretty well sure agree disagree depends general various
"""
GENERIC_WORDS: Final = frozenset(_GENERIC_WORDS_TEXT.split())
_STOCK_NON_ANSWERS: Final = frozenset({
    "n a", "na", "n.a", "idk", "i dont know", "dont know", "i do not know", "do not know",
    "dunno", "no comment", "no comments", "nothing", "none", "nil", "no idea", "not sure",
    "not applicable", "pass", "nothing to add", "no opinion", "idc", "nothing to say",
})
# fmt: on
_KEYBOARD_ROWS: Final = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_REPEATED_UNIT = re.compile(r"(.{1,3})\1{2,}")
_VOWELS: Final = frozenset("aeiouyàáâäèéêëìíîïòóôöùúûü")
_RAW_TOKEN = re.compile(r"[^\W_]+(?:[+#]+|(?:[.'][^\W_]+)*)")

PERSONA_PLURAL: Final = {
    "learner": "learners",
    "educator": "educators",
    "employer": "employers",
    "unspecified": "respondents without a persona",
}


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    id: str
    kind: str
    prompt: str
    options: tuple[str, ...] = ()
    companion_text: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerValue:
    text: str | None = None
    choices: tuple[str, ...] = ()
    number: int | None = None


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    id: str
    persona: str
    arm: str
    companion_display: str
    status: str
    started_at: datetime
    submitted_at: datetime | None
    answers: Mapping[str, AnswerValue]
    contact: str | None = None


# ---------------------------------------------------------------------------------------------
# Outputs


@dataclass(frozen=True, slots=True)
class GroupTotals:
    started: int
    submitted: int
    completion_rate: float | None


@dataclass(frozen=True, slots=True)
class Totals:
    overall: GroupTotals
    by_persona: dict[str, GroupTotals]
    by_arm: dict[str, GroupTotals]


@dataclass(frozen=True, slots=True)
class TimelineBucket:
    start: str  # ISO date of the bucket's first day
    label: str  # "2025-03-04" or "2025-W10"
    started: int
    submitted: int
    cumulative_started: int
    cumulative_submitted: int


@dataclass(frozen=True, slots=True)
class Timeline:
    unit: str  # "day" or "iso_week"
    buckets: tuple[TimelineBucket, ...]


@dataclass(frozen=True, slots=True)
class AnswerQuality:
    response_id: str
    question_id: str
    persona: str
    arm: str
    words: int
    specificity: float
    on_topic: float
    non_answer: bool
    non_answer_reason: str | None
    quality: float


@dataclass(frozen=True, slots=True)
class QualityAggregate:
    n_answers: int
    mean_quality: float | None
    non_answer_share: float | None
    mean_words: float | None


@dataclass(frozen=True, slots=True)
class QualitySummary:
    overall: QualityAggregate
    by_question: dict[str, QualityAggregate]
    by_persona: dict[str, QualityAggregate]
    by_arm: dict[str, QualityAggregate]
    by_question_persona: dict[str, dict[str, QualityAggregate]]


@dataclass(frozen=True, slots=True)
class StatTest:
    test: str
    statistic: float
    dof: int | None
    p_value: float
    effect_size: float | None
    effect_size_name: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class ChoiceGroup:
    persona: str
    n: int  # respondents in this persona who answered the question
    counts: dict[str, int]
    shares: dict[str, float]


@dataclass(frozen=True, slots=True)
class ScaleGroup:
    persona: str
    n: int
    mean: float | None
    median: float | None
    distribution: dict[str, int]  # scale point (as text) -> count


@dataclass(frozen=True, slots=True)
class Quote:
    response_id: str
    persona: str
    text: str
    similarity: float  # cosine to the theme's centroid


@dataclass(frozen=True, slots=True)
class Theme:
    label: str
    terms: tuple[str, ...]
    size: int
    counts_by_persona: dict[str, int]
    share_by_persona: dict[str, float]  # share of that persona's answers in this theme
    quotes: tuple[Quote, ...]


@dataclass(frozen=True, slots=True)
class DistinctiveTerm:
    term: str
    z: float
    count: int


@dataclass(frozen=True, slots=True)
class QuestionDifferences:
    question_id: str
    number: int
    kind: str
    prompt: str
    n_answers: int
    choices: tuple[ChoiceGroup, ...]
    scale_points: tuple[int, ...]
    scale: tuple[ScaleGroup, ...]
    themes: tuple[Theme, ...]
    distinctive_terms: dict[str, tuple[DistinctiveTerm, ...]]
    test: StatTest | None
    option_tests: dict[str, StatTest]
    test_note: str | None
    summary: str


@dataclass(frozen=True, slots=True)
class ABResult:
    metric: str  # "completion_rate" or "free_text_quality"
    test: str
    statistic: float | None
    p_value: float
    n_shown: int
    n_hidden: int
    shown_value: float
    hidden_value: float
    difference: float
    ci_low: float | None
    ci_high: float | None
    effect_size: float | None
    effect_size_name: str | None
    sentence: str


@dataclass(frozen=True, slots=True)
class ABReport:
    comparable: bool
    note: str
    completion: ABResult | None
    quality: ABResult | None


@dataclass(frozen=True, slots=True)
class SurveyReport:
    generated_at: str
    embedder: str
    n_questions: int
    n_responses: int
    totals: Totals
    timeline: Timeline
    answers: tuple[AnswerQuality, ...]
    quality: QualitySummary
    questions: tuple[QuestionDifferences, ...]
    ab: ABReport


# ---------------------------------------------------------------------------------------------
# Entry point


def analyse(
    questions: Sequence[QuestionSpec],
    responses: Sequence[ResponseRecord],
    *,
    embedder: Embedder,
    now: datetime,
) -> SurveyReport:
    """Every KPI of one survey. Raises ValueError on an unknown kind, persona, arm or status."""
    _validate(questions, responses)
    answers, vectors = _score(questions, responses, embedder)
    return SurveyReport(
        generated_at=_iso(now),
        embedder=embedder.name,
        n_questions=len(questions),
        n_responses=len(responses),
        totals=totals(responses),
        timeline=timeline(responses, now=now),
        answers=tuple(answers),
        quality=summarise_quality(answers),
        questions=tuple(
            _question_differences(number, question, responses, answers, vectors)
            for number, question in enumerate(questions, start=1)
        ),
        ab=compare_arms(responses, answers),
    )


def _validate(questions: Sequence[QuestionSpec], responses: Sequence[ResponseRecord]) -> None:
    seen: set[str] = set()
    for question in questions:
        if question.kind not in KINDS:
            raise ValueError(f"question {question.id}: unknown kind {question.kind!r}")
        if question.id in seen:
            raise ValueError(f"question {question.id} appears twice")
        seen.add(question.id)
    for response in responses:
        for value, allowed, what in (
            (response.persona, PERSONAS, "persona"),
            (response.arm, ARMS, "arm"),
            (response.status, STATUSES, "status"),
            (response.companion_display, DISPLAYS, "companion_display"),
        ):
            if value not in allowed:
                raise ValueError(f"response {response.id}: unknown {what} {value!r}")


# ---------------------------------------------------------------------------------------------
# Totals and timeline


def _group_totals(responses: Iterable[ResponseRecord]) -> GroupTotals:
    group = list(responses)
    submitted = sum(1 for r in group if r.status == "submitted")
    return GroupTotals(
        started=len(group),
        submitted=submitted,
        completion_rate=submitted / len(group) if group else None,
    )


def totals(responses: Sequence[ResponseRecord]) -> Totals:
    """Started (every response), submitted and completion rate, overall, per persona, per arm."""
    return Totals(
        overall=_group_totals(responses),
        by_persona={p: _group_totals(r for r in responses if r.persona == p) for p in PERSONAS},
        by_arm={a: _group_totals(r for r in responses if r.arm == a) for a in ARMS},
    )


def _utc(moment: datetime) -> datetime:
    # Naive datetimes are taken as UTC: the database stores UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat().replace("+00:00", "Z")


def timeline(responses: Sequence[ResponseRecord], *, now: datetime) -> Timeline:
    """Started and submitted per UTC day (ISO week past 60 days), with running totals."""
    if not responses:
        return Timeline(unit="day", buckets=())
    started = [_utc(r.started_at).date() for r in responses]
    submitted = [
        _utc(r.submitted_at).date()
        for r in responses
        if r.status == "submitted" and r.submitted_at is not None
    ]
    first = min(started)
    last = max([_utc(now).date(), *started, *submitted])
    weekly = (last - first).days > TIMELINE_WEEKS_AFTER_DAYS

    def key(day: date) -> date:
        return day - timedelta(days=day.weekday()) if weekly else day

    step = timedelta(days=7 if weekly else 1)
    started_count = Counter(key(d) for d in started)
    submitted_count = Counter(key(d) for d in submitted)
    buckets: list[TimelineBucket] = []
    running_started = running_submitted = 0
    cursor = key(first)
    while cursor <= key(last):
        running_started += started_count[cursor]
        running_submitted += submitted_count[cursor]
        if weekly:
            year, week, _ = cursor.isocalendar()
            label = f"{year}-W{week:02d}"
        else:
            label = cursor.isoformat()
        buckets.append(
            TimelineBucket(
                start=cursor.isoformat(),
                label=label,
                started=started_count[cursor],
                submitted=submitted_count[cursor],
                cumulative_started=running_started,
                cumulative_submitted=running_submitted,
            )
        )
        cursor += step
    return Timeline(unit="iso_week" if weekly else "day", buckets=tuple(buckets))


# ---------------------------------------------------------------------------------------------
# Answer quality


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return " ".join(re.sub(r"[^\w\s]|_", " ", folded.replace("'", "")).split())


def _shingles(tokens: Sequence[str]) -> set[tuple[str, ...]]:
    if len(tokens) < 3:
        return {(t,) for t in tokens}
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}


def _copied_from(answer_tokens: list[str], source: str | None) -> bool:
    if not source or not answer_tokens:
        return False
    source_tokens = words(source)
    if len(answer_tokens) < 3:
        # A word or two shared with the question is an answer ("Cost"), not a copy.
        return answer_tokens == source_tokens
    own = _shingles(answer_tokens)
    shared = own & _shingles(source_tokens)
    return len(shared) / len(own) >= COPY_CONTAINMENT


def _keyboard_run(token: str) -> bool:
    for row in _KEYBOARD_ROWS:
        for line in (row, row[::-1]):
            for i in range(len(line) - 3):
                if line[i : i + 4] in token:
                    return True
    return False


def _mash_token(token: str) -> bool:
    letters = "".join(ch for ch in token if ch.isalpha())
    if not letters:
        return False
    return (
        _keyboard_run(letters)
        or (len(letters) >= 6 and _REPEATED_UNIT.fullmatch(letters) is not None)
        or (len(letters) >= 5 and not any(ch in _VOWELS for ch in letters))
        or (len(letters) >= 4 and len(set(letters)) == 1)
    )


def detect_non_answer(
    text: str | None, *, prompt: str = "", companion_text: str | None = None
) -> str | None:
    """The reason the text is not a real answer (one of the REASON_* strings), or None."""
    if text is None or not text.strip():
        return REASON_EMPTY
    stripped = text.strip()
    normalised = _normalise(stripped)
    if not normalised or normalised in _STOCK_NON_ANSWERS:
        return REASON_STOCK
    if sum(1 for ch in stripped if ch.isalpha()) < 2:
        return REASON_FEW_LETTERS
    compact = "".join(stripped.lower().split())
    tokens = words(stripped)
    letter_tokens = [t for t in tokens if any(ch.isalpha() for ch in t)]
    if (len(compact) >= 4 and len(set(compact)) <= 2) or (
        letter_tokens and all(_mash_token(t) for t in letter_tokens)
    ):
        return REASON_MASH
    if _copied_from(tokens, companion_text):
        return REASON_COPIED_COMPANION
    if _copied_from(tokens, prompt):
        return REASON_COPIED_QUESTION
    return None


def _content(token: str) -> bool:
    return (
        token not in STOP_WORDS
        and token not in GENERIC_WORDS
        and (len(token) >= 3 or any(ch.isdigit() for ch in token))
    )


def _concrete_signals(text: str) -> set[str]:
    found: set[str] = set()
    previous_end = 0
    sentence_start = True
    for match in _RAW_TOKEN.finditer(text):
        gap = text[previous_end : match.start()]
        if any(ch in ".!?:;\n" for ch in gap):
            sentence_start = True
        previous_end = match.end()
        token = match.group()
        lowered = token.lower()
        starts_sentence, sentence_start = sentence_start, False
        if any(ch.isdigit() for ch in token):
            found.add(lowered)
        elif lowered in STOP_WORDS or len(token) < 2:
            continue
        elif any(ch.isupper() for ch in token[1:]) or (token[0].isupper() and not starts_sentence):
            found.add(lowered)
    return found


def specificity(text: str) -> float:
    """0.5 * content share + 0.25 * min(1, distinct content / 8) + 0.25 * min(1, concrete / 2)."""
    tokens = words(text)
    if not tokens:
        return 0.0
    content = [t for t in tokens if _content(t)]
    share = len(content) / len(tokens)
    variety = min(1.0, len(set(content)) / 8)
    concrete = min(1.0, len(_concrete_signals(text)) / 2)
    return 0.5 * share + 0.25 * variety + 0.25 * concrete


def quality_score(*, specificity: float, n_words: int, on_topic: float) -> float:
    """0.4 * specificity + 0.25 * length term + 0.35 * topic term (see the module docstring)."""
    length = min(1.0, math.log1p(n_words) / math.log1p(LENGTH_FULL_WORDS))
    topic = min(1.0, max(0.0, on_topic / ON_TOPIC_FULL))
    return 0.4 * specificity + 0.25 * length + 0.35 * topic


def _free_text_pairs(
    questions: Sequence[QuestionSpec], responses: Sequence[ResponseRecord]
) -> list[tuple[QuestionSpec, ResponseRecord, str]]:
    pairs = []
    for question in questions:
        if question.kind != FREE_TEXT:
            continue
        for response in responses:
            value = response.answers.get(question.id)
            if value is not None:
                pairs.append((question, response, value.text or ""))
    return pairs


def score_answers(
    questions: Sequence[QuestionSpec],
    responses: Sequence[ResponseRecord],
    *,
    embedder: Embedder,
) -> list[AnswerQuality]:
    """One `AnswerQuality` per free-text answer given, question by question in input order."""
    return _score(questions, responses, embedder)[0]


def _score(
    questions: Sequence[QuestionSpec], responses: Sequence[ResponseRecord], embedder: Embedder
) -> tuple[list[AnswerQuality], dict[tuple[str, str], NDArray[np.float32]]]:
    """The scored answers, and the vectors of the real answers keyed (question, response)."""
    pairs = _free_text_pairs(questions, responses)
    if not pairs:
        return [], {}
    free = [q for q in questions if q.kind == FREE_TEXT]
    prompt_row = {q.id: i for i, q in enumerate(free)}
    # One embed call for everything: the sentence model is far faster batched, and the theme
    # clustering reuses these vectors.
    matrix = embedder.embed([q.prompt for q in free] + [text for _, _, text in pairs])
    prompts, texts = matrix[: len(free)], matrix[len(free) :]
    scored = []
    vectors: dict[tuple[str, str], NDArray[np.float32]] = {}
    for row, (question, response, text) in enumerate(pairs):
        reason = detect_non_answer(
            text, prompt=question.prompt, companion_text=question.companion_text
        )
        n_words = len(words(text))
        cosine = float(np.dot(prompts[prompt_row[question.id]], texts[row]))
        if reason:
            spec = quality = 0.0
        else:
            spec = specificity(text)
            quality = quality_score(specificity=spec, n_words=n_words, on_topic=cosine)
            vectors[(question.id, response.id)] = texts[row]
        scored.append(
            AnswerQuality(
                response_id=response.id,
                question_id=question.id,
                persona=response.persona,
                arm=response.arm,
                words=n_words,
                specificity=round(spec, 4),
                on_topic=round(cosine, 4),
                non_answer=reason is not None,
                non_answer_reason=reason,
                quality=round(quality, 4),
            )
        )
    return scored, vectors


def _aggregate(items: Iterable[AnswerQuality]) -> QualityAggregate:
    group = list(items)
    if not group:
        return QualityAggregate(0, None, None, None)
    n = len(group)
    return QualityAggregate(
        n_answers=n,
        mean_quality=round(sum(a.quality for a in group) / n, 4),
        non_answer_share=round(sum(a.non_answer for a in group) / n, 4),
        mean_words=round(sum(a.words for a in group) / n, 2),
    )


def summarise_quality(answers: Sequence[AnswerQuality]) -> QualitySummary:
    question_ids = list(dict.fromkeys(a.question_id for a in answers))
    return QualitySummary(
        overall=_aggregate(answers),
        by_question={q: _aggregate(a for a in answers if a.question_id == q) for q in question_ids},
        by_persona={p: _aggregate(a for a in answers if a.persona == p) for p in PERSONAS},
        by_arm={arm: _aggregate(a for a in answers if a.arm == arm) for arm in ARMS},
        by_question_persona={
            q: {
                p: _aggregate(a for a in answers if a.question_id == q and a.persona == p)
                for p in PERSONAS
            }
            for q in question_ids
        },
    )


# ---------------------------------------------------------------------------------------------
# Persona differences


def _fmt_p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _verdict(p: float) -> str:
    return "statistically significant (p < 0.05)" if p < ALPHA else "not statistically significant"


def _chi_square(table: NDArray[np.float64]) -> tuple[float, int, float, float]:
    """(chi2, dof, p, Cramer's V) of a table with no empty row or column."""
    chi2, p, dof, _ = stats.chi2_contingency(table)
    n = float(table.sum())
    v = math.sqrt(float(chi2) / (n * (min(table.shape) - 1)))
    return float(chi2), int(dof), float(p), v


def _holm(p_values: Sequence[float]) -> list[float]:
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def _enough(group_sizes: Mapping[str, int]) -> bool:
    present = [n for n in group_sizes.values() if n > 0]
    return len(present) >= 2 and all(n >= MIN_GROUP for n in present)


def _option_order(question: QuestionSpec, seen: Iterable[str]) -> list[str]:
    extra = sorted(set(seen) - set(question.options))
    return [*question.options, *extra]


def _choice_answers(
    question: QuestionSpec, responses: Sequence[ResponseRecord]
) -> list[tuple[str, tuple[str, ...]]]:
    found = []
    for response in responses:
        value = response.answers.get(question.id)
        if value is None:
            continue
        picked = value.choices or ((value.text,) if value.text else ())
        if question.kind == SINGLE_CHOICE and not picked:
            continue
        found.append((response.persona, tuple(dict.fromkeys(picked))))
    return found


def _choice_differences(
    number: int, question: QuestionSpec, responses: Sequence[ResponseRecord]
) -> QuestionDifferences:
    answered = _choice_answers(question, responses)
    options = _option_order(question, (c for _, picked in answered for c in picked))
    sizes = {p: sum(1 for persona, _ in answered if persona == p) for p in PERSONAS}
    groups = []
    for persona in PERSONAS:
        if not sizes[persona]:
            continue
        counts = Counter(c for p, picked in answered if p == persona for c in picked)
        groups.append(
            ChoiceGroup(
                persona=persona,
                n=sizes[persona],
                counts={o: counts[o] for o in options},
                shares={o: round(counts[o] / sizes[persona], 4) for o in options},
            )
        )
    test: StatTest | None = None
    option_tests: dict[str, StatTest] = {}
    note: str | None = None
    if not _enough(sizes):
        note = TOO_FEW
    elif question.kind == SINGLE_CHOICE:
        table = np.array([[g.counts[o] for o in options] for g in groups], dtype=np.float64)
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2:
            note = "every answer is the same option; no test"
        else:
            chi2, dof, p, v = _chi_square(table)
            test = StatTest(
                "chi-square test of independence", chi2, dof, p, v, "Cramer's V",
                "personas x options; options nobody chose left out",
            )  # fmt: skip
    else:
        raw: dict[str, tuple[float, int, float, float]] = {}
        for option in options:
            table = np.array([[g.counts[option], g.n - g.counts[option]] for g in groups])
            if (table.sum(axis=0) == 0).any():
                continue  # chosen by everyone or by no one: nothing to compare
            raw[option] = _chi_square(table.astype(np.float64))
        if not raw:
            note = "every option was chosen by everyone or by no one; no test"
        else:
            adjusted = _holm([r[2] for r in raw.values()])
            for (option, (chi2, dof, _, v)), p_adj in zip(raw.items(), adjusted, strict=True):
                option_tests[option] = StatTest(
                    "chi-square test of independence", chi2, dof, p_adj, v, "Cramer's V",
                    f"personas x selected/not selected '{option}'; p Holm-adjusted over "
                    f"{len(raw)} options",
                )  # fmt: skip
            best = min(option_tests, key=lambda o: (option_tests[o].p_value, options.index(o)))
            test = option_tests[best]
    return QuestionDifferences(
        question_id=question.id,
        number=number,
        kind=question.kind,
        prompt=question.prompt,
        n_answers=len(answered),
        choices=tuple(groups),
        scale_points=(),
        scale=(),
        themes=(),
        distinctive_terms={},
        test=test,
        option_tests=option_tests,
        test_note=note,
        summary=_choice_summary(question, groups, options, test, option_tests, note),
    )


def _pct(share: float) -> str:
    return f"{round(share * 100)}%"


def _test_clause(test: StatTest | None, note: str | None, symbol: str) -> str:
    if test is None:
        return f"({note or TOO_FEW})."
    p_text = _fmt_p(test.p_value)
    if "Holm" in test.detail:
        p_text = p_text.replace("p", "Holm-adjusted p", 1)
    symbol_v = "V" if test.effect_size_name == "Cramer's V" else "ε²"
    effect = f", {symbol_v}={test.effect_size:.2f}" if test.effect_size is not None else ""
    return f"{symbol}({test.dof})={test.statistic:.1f}, {p_text}{effect}: {_verdict(test.p_value)}."


def _choice_summary(
    question: QuestionSpec,
    groups: Sequence[ChoiceGroup],
    options: Sequence[str],
    test: StatTest | None,
    option_tests: Mapping[str, StatTest],
    note: str | None,
) -> str:
    if not groups:
        return "No answers yet."
    if question.kind == SINGLE_CHOICE:
        tops = []
        for g in groups:
            top = max(options, key=lambda o: (g.counts[o], -options.index(o)))
            tops.append((g.shares[top], -PERSONAS.index(g.persona), g.persona, top))
        # The most one-sided persona first: that is where the difference shows.
        parts = [
            f"{PERSONA_PLURAL[persona]} '{top}' ({_pct(share)})"
            for share, _, persona, top in sorted(tops, reverse=True)
        ]
        head = parts[0][0].upper() + parts[0][1:]
        first = head.replace(" '", " chose '", 1).replace("' (", "' most (", 1)
        sentence = ", ".join([first, *parts[1:]])
        return f"{sentence}; {_test_clause(test, note, 'χ²')}"
    # Multiple choice: the option on which personas differ most.
    best_option, best_gap, high, low = "", -1.0, groups[0], groups[0]
    for option in options:
        ranked = sorted(groups, key=lambda g: (g.shares[option], -PERSONAS.index(g.persona)))
        gap = ranked[-1].shares[option] - ranked[0].shares[option]
        if gap > best_gap:
            best_option, best_gap, high, low = option, gap, ranked[-1], ranked[0]
    if len(groups) < 2:
        top = max(options, key=lambda o: (groups[0].shares[o], -options.index(o)))
        return (
            f"Only {PERSONA_PLURAL[groups[0].persona]} answered; '{top}' was selected most "
            f"({_pct(groups[0].shares[top])}) ({note or TOO_FEW})."
        )
    chosen = option_tests.get(best_option, test)
    return (
        f"'{best_option}' divides personas most: selected by {_pct(high.shares[best_option])} "
        f"of {PERSONA_PLURAL[high.persona]} and {_pct(low.shares[best_option])} of "
        f"{PERSONA_PLURAL[low.persona]}; {_test_clause(chosen, note, 'χ²')}"
    )


def scale_points(question: QuestionSpec) -> tuple[int, ...]:
    """1..5, or the ends written in the labels ("1 = never", "7 = always"), or one per label."""
    if len(question.options) > 2:
        return tuple(range(1, len(question.options) + 1))
    ends = [re.match(r"\s*(-?\d+)", label) for label in question.options]
    if len(ends) == 2 and ends[0] and ends[1]:
        low, high = int(ends[0].group(1)), int(ends[1].group(1))
        if low < high:
            return tuple(range(low, high + 1))
    return tuple(range(1, 6))


def _scale_differences(
    number: int, question: QuestionSpec, responses: Sequence[ResponseRecord]
) -> QuestionDifferences:
    points = scale_points(question)
    values: dict[str, list[int]] = {p: [] for p in PERSONAS}
    for response in responses:
        value = response.answers.get(question.id)
        if value is not None and value.number is not None and value.number in points:
            values[response.persona].append(value.number)
    groups = []
    for persona in PERSONAS:
        got = values[persona]
        if not got:
            continue
        counts = Counter(got)
        groups.append(
            ScaleGroup(
                persona=persona,
                n=len(got),
                mean=round(float(np.mean(got)), 4),
                median=float(np.median(got)),
                distribution={str(point): counts[point] for point in points},
            )
        )
    test: StatTest | None = None
    note: str | None = None
    if not _enough({p: len(v) for p, v in values.items()}):
        note = TOO_FEW
    else:
        samples = [v for v in values.values() if v]
        if len({x for sample in samples for x in sample}) < 2:
            note = "every answer is the same; no test"
        else:
            h, p = stats.kruskal(*samples)
            n = sum(len(s) for s in samples)
            test = StatTest(
                "Kruskal-Wallis H test", float(h), len(samples) - 1, float(p),
                float(h) / (n - 1), "epsilon-squared", "across personas with answers",
            )  # fmt: skip
    if not groups:
        summary = "No answers yet."
    elif len(groups) == 1:
        g = groups[0]
        summary = f"Only {PERSONA_PLURAL[g.persona]} answered (mean {g.mean:.1f}, n={g.n})."
    else:
        ranked = sorted(groups, key=lambda g: (g.mean or 0.0, -PERSONAS.index(g.persona)))
        hi, lo = ranked[-1], ranked[0]
        head = PERSONA_PLURAL[hi.persona]
        summary = (
            f"{head[0].upper()}{head[1:]} rate highest (mean {hi.mean:.1f}, median "
            f"{hi.median:g}), {PERSONA_PLURAL[lo.persona]} lowest (mean {lo.mean:.1f}, median "
            f"{lo.median:g}); {_test_clause(test, note, 'H')}"
        )
    return QuestionDifferences(
        question_id=question.id,
        number=number,
        kind=question.kind,
        prompt=question.prompt,
        n_answers=sum(g.n for g in groups),
        choices=(),
        scale_points=points,
        scale=tuple(groups),
        themes=(),
        distinctive_terms={},
        test=test,
        option_tests={},
        test_note=note,
        summary=summary,
    )


def _silhouette(distance: NDArray[np.float64], labels: NDArray[np.int64]) -> float:
    n = len(labels)
    clusters, index = np.unique(labels, return_inverse=True)
    onehot = np.zeros((n, len(clusters)))
    onehot[np.arange(n), index] = 1.0
    sizes = onehot.sum(axis=0)
    sums = distance @ onehot
    own = sizes[index]
    a = sums[np.arange(n), index] / np.maximum(own - 1, 1)
    means = sums / sizes
    means[np.arange(n), index] = np.inf
    b = means.min(axis=1)
    s = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    s[own == 1] = 0.0  # the usual convention: a singleton says nothing about separation
    return float(s.mean())


def cluster(vectors: NDArray[np.float32]) -> NDArray[np.int64]:
    """Cluster numbers 0..k-1 (largest first) for unit rows; see the module docstring."""
    n = len(vectors)
    if n < 3:
        return np.zeros(n, dtype=np.int64)
    unit = vectors.astype(np.float64)
    distance = np.clip(1.0 - unit @ unit.T, 0.0, 2.0)
    distance = (distance + distance.T) / 2
    np.fill_diagonal(distance, 0.0)
    tree = hierarchy.linkage(squareform(distance, checks=False), method="average")
    best = np.zeros(n, dtype=np.int64)
    best_score = MIN_SILHOUETTE
    for k in range(2, min(MAX_THEMES, n - 1) + 1):
        labels = np.asarray(hierarchy.fcluster(tree, t=k, criterion="maxclust"), dtype=np.int64)
        if len(np.unique(labels)) < 2:
            continue
        score = _silhouette(distance, labels)
        if score > best_score + 1e-9:
            best, best_score = labels, score
    # Renumber by size, then by first member, so the same data always lists themes alike.
    order = sorted(
        np.unique(best), key=lambda c: (-int((best == c).sum()), int(np.argmax(best == c)))
    )
    renumber = {int(c): i for i, c in enumerate(order)}
    return np.array([renumber[int(c)] for c in best], dtype=np.int64)


def theme_terms(text: str) -> list[str]:
    """The words a theme label or a distinctive-term list may use."""
    return [t for t in words(text) if len(t) >= 3 and not t.isdigit() and t not in STOP_WORDS]


def _ctfidf(cluster_counts: Sequence[Counter[str]], top: int = 3) -> list[list[str]]:
    totals_by_term: Counter[str] = Counter()
    for counts in cluster_counts:
        totals_by_term.update(counts)
    average = sum(totals_by_term.values()) / max(len(cluster_counts), 1)
    labels = []
    for counts in cluster_counts:
        size = sum(counts.values()) or 1
        weights = {t: c / size * math.log1p(average / totals_by_term[t]) for t, c in counts.items()}
        labels.append(sorted(weights, key=lambda t: (-weights[t], t))[:top])
    return labels


def distinctive_terms(
    texts_by_persona: Mapping[str, Sequence[str]], top: int = 5
) -> dict[str, tuple[DistinctiveTerm, ...]]:
    """Weighted log-odds z-scores per persona against the rest (see the module docstring)."""
    counts = {p: Counter(t for text in texts for t in theme_terms(text)) for p, texts in
              texts_by_persona.items()}  # fmt: skip
    counts = {p: c for p, c in counts.items() if c}
    if len(counts) < 2:
        return {}
    pooled: Counter[str] = Counter()
    for c in counts.values():
        pooled.update(c)
    vocabulary = sorted(pooled)
    alpha = np.array([pooled[t] for t in vocabulary], dtype=np.float64)
    alpha0 = float(alpha.sum())
    result = {}
    for persona, own_counts in counts.items():
        y_i = np.array([own_counts[t] for t in vocabulary], dtype=np.float64)
        y_j = alpha - y_i
        n_i, n_j = float(y_i.sum()), float(y_j.sum())
        delta = np.log((y_i + alpha) / (n_i + alpha0 - y_i - alpha)) - np.log(
            (y_j + alpha) / (n_j + alpha0 - y_j - alpha)
        )
        z = delta / np.sqrt(1.0 / (y_i + alpha) + 1.0 / (y_j + alpha))
        ranked = sorted(
            (i for i in range(len(vocabulary)) if z[i] > 0 and y_i[i] > 0),
            key=lambda i: (-z[i], vocabulary[i]),
        )[:top]
        result[persona] = tuple(
            DistinctiveTerm(vocabulary[i], round(float(z[i]), 3), int(y_i[i])) for i in ranked
        )
    return result


def _free_text_differences(
    number: int,
    question: QuestionSpec,
    responses: Sequence[ResponseRecord],
    answers: Sequence[AnswerQuality],
    vectors: Mapping[tuple[str, str], NDArray[np.float32]],
) -> QuestionDifferences:
    by_id = {r.id: r for r in responses}
    real = [a for a in answers if a.question_id == question.id and not a.non_answer]
    texts = [by_id[a.response_id].answers[question.id].text or "" for a in real]
    personas = [a.persona for a in real]
    themes: list[Theme] = []
    if real:
        matrix = np.stack([vectors[(question.id, a.response_id)] for a in real])
        labels = cluster(matrix)
        per_persona = Counter(personas)
        members_of = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1)]
        term_labels = _ctfidf([Counter(t for i in m for t in theme_terms(texts[i])) for m in
                               members_of])  # fmt: skip
        for members, terms in zip(members_of, term_labels, strict=True):
            centroid = matrix[members].astype(np.float64).mean(axis=0)
            norm = float(np.linalg.norm(centroid))
            closeness = matrix[members] @ (centroid / norm if norm else centroid)
            ranked = [int(members[j]) for j in np.argsort(-closeness, kind="stable")]
            picked: list[int] = []
            for i in ranked:  # one per persona first, then the nearest of the rest
                if len(picked) < MAX_QUOTES and personas[i] not in {personas[j] for j in picked}:
                    picked.append(i)
            picked += [i for i in ranked if i not in picked][: MAX_QUOTES - len(picked)]
            picked.sort(key=ranked.index)
            similarity = dict(zip((int(m) for m in members), closeness.tolist(), strict=True))
            counts = Counter(personas[i] for i in members)
            themes.append(
                Theme(
                    label=", ".join(terms) or "(no distinctive words)",
                    terms=tuple(terms),
                    size=len(members),
                    counts_by_persona={p: counts[p] for p in PERSONAS if per_persona[p]},
                    share_by_persona={
                        p: round(counts[p] / per_persona[p], 4) for p in PERSONAS if per_persona[p]
                    },
                    quotes=tuple(
                        Quote(real[i].response_id, personas[i], texts[i], round(similarity[i], 4))
                        for i in picked
                    ),
                )
            )
    grouped: dict[str, list[str]] = {}
    for persona, text in zip(personas, texts, strict=True):
        grouped.setdefault(persona, []).append(text)
    return QuestionDifferences(
        question_id=question.id,
        number=number,
        kind=question.kind,
        prompt=question.prompt,
        n_answers=len(real),
        choices=(),
        scale_points=(),
        scale=(),
        themes=tuple(themes),
        distinctive_terms=distinctive_terms(grouped),
        test=None,
        option_tests={},
        test_note="themes are descriptive; no test",
        summary=_themes_summary(themes, len(real)),
    )


def _themes_summary(themes: Sequence[Theme], n: int) -> str:
    if not themes:
        return "No usable free-text answers yet."
    largest = themes[0]
    head = (
        f"{len(themes)} theme{'s' if len(themes) > 1 else ''} in {n} answers; the largest, "
        f"'{largest.label}', covers {_pct(largest.size / n)}."
    )
    best: tuple[float, Theme, str, str] | None = None
    for theme in themes:
        shares = sorted(theme.share_by_persona.items(), key=lambda kv: (kv[1], kv[0]))
        if len(shares) >= 2 and (best is None or shares[-1][1] - shares[0][1] > best[0]):
            best = (shares[-1][1] - shares[0][1], theme, shares[-1][0], shares[0][0])
    if best is None or best[0] == 0:
        return head + " Descriptive only: no significance test is run on themes."
    _, theme, high, low = best
    return (
        f"{head} The biggest persona difference: '{theme.label}' is raised by "
        f"{_pct(theme.share_by_persona[high])} of {PERSONA_PLURAL[high]} and "
        f"{_pct(theme.share_by_persona[low])} of {PERSONA_PLURAL[low]} "
        "(descriptive only: no significance test is run on themes)."
    )


def _question_differences(
    number: int,
    question: QuestionSpec,
    responses: Sequence[ResponseRecord],
    answers: Sequence[AnswerQuality],
    vectors: Mapping[tuple[str, str], NDArray[np.float32]],
) -> QuestionDifferences:
    if question.kind == FREE_TEXT:
        return _free_text_differences(number, question, responses, answers, vectors)
    if question.kind == SCALE:
        return _scale_differences(number, question, responses)
    return _choice_differences(number, question, responses)


# ---------------------------------------------------------------------------------------------
# A/B


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """95% interval for p1 - p2, Newcombe's hybrid score method (1998, method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1)
    l2, u2 = wilson_interval(x2, n2)
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def compare_proportions(x_shown: int, n_shown: int, x_hidden: int, n_hidden: int) -> ABResult:
    """Completion shown vs hidden: z-test, or Fisher's exact test when an expected cell < 5."""
    table = np.array([[x_shown, n_shown - x_shown], [x_hidden, n_hidden - x_hidden]], float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    p1, p2 = x_shown / n_shown, x_hidden / n_hidden
    if (expected < 5).any():
        odds, p_value = stats.fisher_exact(table.astype(np.int64), alternative="two-sided")
        name = "Fisher's exact test"
        statistic = float(odds) if math.isfinite(float(odds)) else None
        stat_text = "odds ratio " + (f"{statistic:.2f}" if statistic is not None else "undefined")
    else:
        pooled = (x_shown + x_hidden) / (n_shown + n_hidden)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n_shown + 1 / n_hidden))
        statistic = (p1 - p2) / se
        p_value = 2 * float(stats.norm.sf(abs(statistic)))
        name = "two-proportion z-test"
        stat_text = f"z={statistic:.2f}"
    low, high = newcombe_interval(x_shown, n_shown, x_hidden, n_hidden)
    p_value = float(min(1.0, p_value))
    sentence = (
        f"Completion was {_pct(p1)} with companion answers shown (n={n_shown}) and {_pct(p2)} "
        f"with them hidden (n={n_hidden}), a difference of {(p1 - p2) * 100:+.1f} points "
        f"(95% CI {low * 100:+.1f} to {high * 100:+.1f}); {name}, {stat_text}, "
        f"{_fmt_p(p_value)}: {_verdict(p_value)}."
    )
    return ABResult(
        metric="completion_rate",
        test=name,
        statistic=statistic,
        p_value=p_value,
        n_shown=n_shown,
        n_hidden=n_hidden,
        shown_value=round(p1, 4),
        hidden_value=round(p2, 4),
        difference=round(p1 - p2, 4),
        ci_low=round(low, 4),
        ci_high=round(high, 4),
        effect_size=None,
        effect_size_name=None,
        sentence=sentence,
    )


def compare_quality(shown: Sequence[float], hidden: Sequence[float]) -> ABResult:
    """Free-text quality shown vs hidden: two-sided Mann-Whitney U and rank-biserial r."""
    u, p_value = stats.mannwhitneyu(shown, hidden, alternative="two-sided")
    r = 2 * float(u) / (len(shown) * len(hidden)) - 1
    mean_s, mean_h = float(np.mean(shown)), float(np.mean(hidden))
    p_value = float(p_value)
    sentence = (
        f"Mean free-text quality was {mean_s:.2f} with companion answers shown "
        f"(n={len(shown)} answers) and {mean_h:.2f} with them hidden (n={len(hidden)}); "
        f"Mann-Whitney U={float(u):.1f}, {_fmt_p(p_value)}, rank-biserial r={r:+.2f}: "
        f"{_verdict(p_value)}."
    )
    return ABResult(
        metric="free_text_quality",
        test="Mann-Whitney U test",
        statistic=float(u),
        p_value=p_value,
        n_shown=len(shown),
        n_hidden=len(hidden),
        shown_value=round(mean_s, 4),
        hidden_value=round(mean_h, 4),
        difference=round(mean_s - mean_h, 4),
        ci_low=None,
        ci_high=None,
        effect_size=round(r, 4),
        effect_size_name="rank-biserial correlation",
        sentence=sentence,
    )


def compare_arms(responses: Sequence[ResponseRecord], answers: Sequence[AnswerQuality]) -> ABReport:
    shown = [r for r in responses if r.arm == "shown"]
    hidden = [r for r in responses if r.arm == "hidden"]
    if not shown or not hidden:
        only = "shown" if shown else "hidden" if hidden else None
        note = (
            f"Only the '{only}' arm has respondents: no comparison is possible."
            if only
            else "No respondents yet: no comparison is possible."
        )
        return ABReport(comparable=False, note=note, completion=None, quality=None)
    completion = compare_proportions(
        sum(r.status == "submitted" for r in shown),
        len(shown),
        sum(r.status == "submitted" for r in hidden),
        len(hidden),
    )
    q_shown = [a.quality for a in answers if a.arm == "shown"]
    q_hidden = [a.quality for a in answers if a.arm == "hidden"]
    if q_shown and q_hidden:
        return ABReport(True, "", completion, compare_quality(q_shown, q_hidden))
    return ABReport(
        True, "One arm has no free-text answers: quality is not compared.", completion, None
    )


# ---------------------------------------------------------------------------------------------
# CSV export

_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """The cell text, with a leading apostrophe when a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _header_prompt(number: int, prompt: str) -> str:
    flat = " ".join(prompt.split())
    short = flat if len(flat) <= 60 else flat[:59].rstrip() + "…"
    return f"Q{number}: {short}"


def _answer_cell(question: QuestionSpec, value: AnswerValue | None) -> str:
    if value is None:
        return ""
    if question.kind in (SINGLE_CHOICE, MULTIPLE_CHOICE):
        return "; ".join(value.choices) if value.choices else value.text or ""
    if question.kind == SCALE:
        return "" if value.number is None else str(value.number)
    return value.text or ""


def to_csv(
    questions: Sequence[QuestionSpec],
    responses: Sequence[ResponseRecord],
    *,
    include_contact: bool,
    embedder: Embedder | None = None,
) -> str:
    """One row per response; the contact column only when `include_contact`.

    Quality scores need an embedder for the on-topic term: pass the one `analyse` used so the
    export matches the report (the default is the dependency-free `HashedEmbedder`).
    """
    _validate(questions, responses)
    scored = score_answers(questions, responses, embedder=embedder or HashedEmbedder())
    quality = {(a.question_id, a.response_id): a for a in scored}
    numbered = list(enumerate(questions, start=1))
    free = [(n, q) for n, q in numbered if q.kind == FREE_TEXT]
    header = [
        "response_id", "persona", "arm", "companion_display", "status", "started_at",
        "submitted_at",
        *(_header_prompt(n, q.prompt) for n, q in numbered),
        *(column for n, _ in free for column in (f"Q{n} quality", f"Q{n} non-answer")),
    ]  # fmt: skip
    if include_contact:
        header.append("contact")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(h) for h in header])
    for response in responses:
        row = [
            response.id,
            response.persona,
            response.arm,
            response.companion_display,
            response.status,
            _iso(response.started_at),
            _iso(response.submitted_at) if response.submitted_at else "",
            *(_answer_cell(q, response.answers.get(q.id)) for _, q in numbered),
        ]
        for _, question in free:
            scored_answer = quality.get((question.id, response.id))
            if scored_answer is None:
                row += ["", ""]
            else:
                row += [f"{scored_answer.quality:.3f}", "yes" if scored_answer.non_answer else "no"]
        if include_contact:
            row.append(response.contact or "")
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
