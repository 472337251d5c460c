from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microcred.assessment.text_grading import (
    MAX_ANSWER_CHARS,
    REVIEW_BELOW,
    AnswerError,
    Criterion,
    CriterionResult,
    Rubric,
    RubricError,
    TextGrade,
    _stem,
    grade_text,
)

# "Explain what a LEFT JOIN returns, in one or two sentences."
LEFT_JOIN = Rubric(
    criteria=(
        Criterion(
            id="keeps-left",
            description="keeps every row of the left table",
            points=2,
            concepts=("keeps the rows of the left table", "all rows from the left table"),
            misconceptions=("only matching rows",),
        ),
        Criterion(
            id="nulls",
            description="fills the right table's columns with NULL when there is no match",
            points=1,
            concepts=("right columns are null", "fills with null"),
        ),
    ),
    credit=2,
)

# "Why does `def add(item, items=[])` surprise people, and how do you avoid it?"
MUTABLE_DEFAULT = Rubric(
    criteria=(
        Criterion(
            id="evaluated-once",
            description="the default is evaluated once, when the function is defined",
            points=2,
            concepts=("default is evaluated once", "default list is created only once"),
        ),
        Criterion(
            id="shared",
            description="the same list is shared between calls",
            points=1,
            concepts=("same list is shared between calls", "list persists across calls"),
        ),
        Criterion(
            id="fix",
            description="use None as the default and create the list inside the function",
            points=1,
            concepts=("default to none", "create a new list inside the function"),
        ),
    ),
    credit=3,
)

# "Why report the median rather than the mean for household income?"
MEDIAN = Rubric(
    criteria=(
        Criterion(
            id="robust",
            description="the median is not pulled by outliers",
            points=2,
            concepts=("median is robust to outliers", "outliers do not pull the median"),
        ),
        Criterion(
            id="skew",
            description="the mean is dragged toward the long tail of a skewed distribution",
            points=1,
            concepts=("mean is pulled toward the tail", "skewed distribution drags the mean"),
        ),
    ),
    credit=2,
)


def result(grade: TextGrade, criterion_id: str) -> CriterionResult:
    return next(r for r in grade.criteria if r.id == criterion_id)


# --- matching ------------------------------------------------------------------------------


def test_exact_phrases_earn_full_confidence_and_quote_the_answer() -> None:
    grade = grade_text(
        LEFT_JOIN,
        "A LEFT JOIN keeps the rows of the left table; right columns are NULL without a match.",
    )
    keeps = result(grade, "keeps-left")
    assert keeps == CriterionResult(
        id="keeps-left",
        points=2,
        evidence="keeps the rows of the left table",
        reason='matched "keeps the rows of the left table"',
        confidence=1.0,
    )
    nulls = result(grade, "nulls")
    assert (nulls.points, nulls.evidence, nulls.confidence) == (1, "right columns are NULL", 1.0)
    assert (grade.points, grade.total, grade.credit, grade.correct) == (3, 3, 2, True)
    assert grade.confidence == 1.0
    assert grade.needs_review is False


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("rows", "row"),
        ("joined", "join"),
        ("joins", "join"),
        ("joining", "join"),
        ("matching", "match"),
        ("matches", "match"),
        ("queries", "query"),
        ("mapped", "map"),
        ("quickly", "quick"),
        ("larger", "larg"),
        ("large", "larg"),
        ("filters", "filter"),  # a noun, not a comparative: -er stays
        ("string", "string"),  # "str" has no vowel: not an -ing form
        ("status", "status"),
        ("needed", "need"),
    ],
)
def test_stemmer_relates_inflected_forms(word: str, stem: str) -> None:
    assert _stem(word) == stem


def test_stemmed_words_match_with_slightly_lower_confidence() -> None:
    rubric = Rubric(
        (Criterion("join-key", "joins on the key", 1, ("joins rows on the key column",)),),
        credit=1,
    )
    hit = result(grade_text(rubric, "It joined the rows on their key columns."), "join-key")
    assert hit.points == 1
    assert hit.evidence == "joined the rows on their key columns"
    assert hit.confidence == 0.9801  # two variants at 0.99 each
    assert hit.reason == (
        'matched "joins rows on the key column" '
        '(variant "joined" for "joins"; variant "columns" for "column")'
    )


def test_a_typo_matches_but_lowers_confidence() -> None:
    grade = grade_text(
        LEFT_JOIN, "It keeps the rows of the left table and the right colums are null."
    )
    nulls = result(grade, "nulls")
    assert nulls.points == 1
    assert nulls.evidence == "right colums are null"
    assert nulls.confidence == 0.65
    assert 'misspelt "colums" for "columns"' in nulls.reason


def test_short_words_get_no_typo_tolerance() -> None:
    grade = grade_text(LEFT_JOIN, "It keeps the rows of the lfet table.")
    assert result(grade, "keeps-left").points == 0


def test_reordered_words_match_with_lower_confidence() -> None:
    grade = grade_text(LEFT_JOIN, "The left table's rows are all there in the output.")
    keeps = result(grade, "keeps-left")
    assert keeps.points == 2
    assert keeps.evidence == "left table's rows are all"
    assert keeps.confidence == 0.9
    assert keeps.reason == 'matched "all rows from the left table" (word order differs)'


def test_words_too_far_apart_do_not_match() -> None:
    answer = "All of it comes back: every customer, order, invoice, payment and row from the left."
    assert result(grade_text(LEFT_JOIN, answer), "keeps-left").points == 0


def test_a_phrase_does_not_span_two_sentences() -> None:
    answer = "It returns all rows. From the left table, that is."
    keeps = result(grade_text(LEFT_JOIN, answer), "keeps-left")
    assert keeps.points == 0
    assert "too far apart or in separate sentences" in keeps.reason


# --- negation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "evidence"),
    [
        (
            "It does not keep the rows of the left table.",
            "not keep the rows of the left table",
        ),
        (
            "It doesn\u2019t keep the rows of the left table.",
            "doesn\u2019t keep the rows of the left table",
        ),
        (
            "A left join never keeps the rows of the left table.",
            "never keeps the rows of the left table",
        ),
    ],
)
def test_a_negated_match_earns_nothing_and_says_so(answer: str, evidence: str) -> None:
    keeps = result(grade_text(LEFT_JOIN, answer), "keeps-left")
    assert keeps.points == 0
    assert keeps.evidence == evidence
    assert keeps.reason == f'matched but negated ("{evidence}")'


def test_an_unnegated_repetition_still_earns_the_points() -> None:
    answer = "It doesn't drop anything: it keeps the rows of the left table."
    keeps = result(grade_text(LEFT_JOIN, answer), "keeps-left")
    assert (keeps.points, keeps.evidence) == (2, "keeps the rows of the left table")


@pytest.mark.parametrize(
    "answer",
    [
        "No, it keeps the rows of the left table.",
        "Not quite. It keeps the rows of the left table.",
        "It not only matches rows, it keeps the rows of the left table too.",
        "It does not drop rows but keeps the rows of the left table.",
    ],
)
def test_negations_that_do_not_govern_the_phrase_are_ignored(answer: str) -> None:
    assert result(grade_text(LEFT_JOIN, answer), "keeps-left").points == 2


def test_a_concept_containing_a_negation_matches() -> None:
    grade = grade_text(MEDIAN, "Outliers don't pull the median much, so it is a fairer summary.")
    robust = result(grade, "robust")
    assert robust.points == 2
    assert robust.evidence == "Outliers don't pull the median"
    assert robust.confidence == 0.99  # "don't" stands for "not"


def test_a_negation_inside_a_concept_must_govern_the_same_word() -> None:
    rubric = Rubric(
        (Criterion("filter", "WHERE does not remove rows", 1, ("does not remove rows",)),),
        credit=1,
    )
    assert result(grade_text(rubric, "It doesn't remove any rows."), "filter").points == 1
    assert result(grade_text(rubric, "It removes rows that do not match."), "filter").points == 0


def test_python_none_is_a_value_not_a_negation() -> None:
    grade = grade_text(
        MUTABLE_DEFAULT,
        "Default to None and create a new list inside the function on every call.",
    )
    assert result(grade, "fix").points == 1
    assert result(grade, "fix").evidence == "Default to None"


# --- misconceptions ------------------------------------------------------------------------


def test_a_misconception_cancels_the_criterion() -> None:
    grade = grade_text(
        LEFT_JOIN, "It keeps all rows from the left table and returns only matching rows."
    )
    keeps = result(grade, "keeps-left")
    assert keeps.points == 0
    assert keeps.evidence == "only matching rows"
    assert keeps.reason == (
        'cancelled by misconception "only matching rows" ("only matching rows"), '
        'although it matched "all rows from the left table"'
    )
    assert keeps.confidence == 0.6


def test_a_negated_misconception_does_not_cancel() -> None:
    grade = grade_text(LEFT_JOIN, "It keeps all rows from the left table, not only matching rows.")
    keeps = result(grade, "keeps-left")
    assert (keeps.points, keeps.evidence, keeps.confidence) == (
        2,
        "all rows from the left table",
        1.0,
    )


def test_a_misconception_alone_is_reported() -> None:
    keeps = result(grade_text(LEFT_JOIN, "It returns only the matching rows."), "keeps-left")
    assert keeps.points == 0
    assert keeps.evidence == "only the matching rows"
    assert keeps.reason == (
        'no phrase expressing "keeps every row of the left table"; '
        'also states misconception "only matching rows"'
    )


# --- evidence ------------------------------------------------------------------------------


def test_evidence_is_the_original_text_with_accents_quotes_and_case() -> None:
    rubric = Rubric(
        (
            Criterion("left", "keeps all left rows", 1, ("all rows from the left table",)),
            Criterion("cafe", "names the café's orders", 1, ("cafe orders",)),
        ),
        credit=1,
    )
    answer = (
        "The JOIN keeps \u201call ROWS from the L\u00e9ft TABLE\u201d \u2014 "
        "even the Caf\u00e9\u2019s Orders."
    )
    grade = grade_text(rubric, answer)
    assert result(grade, "left").evidence == "all ROWS from the L\u00e9ft TABLE"
    assert result(grade, "cafe").evidence == "Caf\u00e9\u2019s Orders"
    decomposed = "Every Cafe\u0301\u2019s orders are kept."  # e + combining acute
    assert result(grade_text(rubric, decomposed), "cafe").evidence == "Cafe\u0301\u2019s orders"


# --- credit and confidence -----------------------------------------------------------------


def test_partial_credit_across_criteria_and_the_credit_threshold() -> None:
    enough = grade_text(
        MUTABLE_DEFAULT,
        "The default is evaluated once, so the same list is shared between calls.",
    )
    assert [r.points for r in enough.criteria] == [2, 1, 0]
    assert (enough.points, enough.total, enough.correct) == (3, 4, True)

    short = grade_text(
        MUTABLE_DEFAULT, "The same list is shared between calls, which is surprising."
    )
    assert [r.points for r in short.criteria] == [0, 1, 0]
    assert (short.points, short.correct) == (1, False)


def test_a_confident_incorrect_answer() -> None:
    grade = grade_text(LEFT_JOIN, "It is usually faster than a subquery.")
    assert (grade.points, grade.correct) == (0, False)
    # Only a full paraphrase of "keeps-left" (absent, 0.85) could make this correct.
    assert grade.confidence == 0.85
    assert grade.needs_review is False


def test_a_decision_resting_on_a_typo_match_goes_to_review() -> None:
    strict = dataclasses.replace(LEFT_JOIN, credit=3)
    grade = grade_text(strict, "It keeps the rows of the left table and the right colums are null.")
    assert (grade.points, grade.correct) == (3, True)
    assert grade.confidence == 0.65
    assert grade.confidence < REVIEW_BELOW
    assert grade.needs_review is True


def test_the_same_typo_far_from_the_threshold_is_confident() -> None:
    grade = grade_text(
        LEFT_JOIN, "It keeps the rows of the left table and the right colums are null."
    )
    assert grade.correct is True
    assert grade.confidence == 1.0  # dropping the uncertain point would still leave 2 >= 2
    assert grade.needs_review is False


def test_a_near_miss_that_could_flip_the_grade_goes_to_review() -> None:
    strict = dataclasses.replace(LEFT_JOIN, credit=3)
    grade = grade_text(strict, "It keeps the rows of the left table; the right side shows null.")
    nulls = result(grade, "nulls")
    assert nulls.points == 0
    assert nulls.confidence == 0.5
    assert nulls.reason == (
        "no phrase expressing \"fills the right table's columns with NULL when there is no "
        'match"; nearest is "right side shows null", lacking "columns"'
    )
    assert (grade.points, grade.correct, grade.confidence, grade.needs_review) == (
        2,
        False,
        0.5,
        True,
    )


def test_grading_is_deterministic() -> None:
    answer = "It keeps all rows from the left table, and the right colums are null."
    assert grade_text(LEFT_JOIN, answer) == grade_text(LEFT_JOIN, answer)


# --- rubric validation ---------------------------------------------------------------------


def _criterion(**changes: object) -> Criterion:
    base = Criterion("keeps-left", "keeps the left rows", 2, ("keeps the rows of the left table",))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rubric", "message"),
    [
        (Rubric((), credit=1), "the rubric has no criteria"),
        (
            Rubric(tuple(_criterion(id=f"c{i}") for i in range(21)), credit=1),
            "the rubric has 21 criteria; at most 20 are allowed",
        ),
        (Rubric((_criterion(), _criterion()), credit=1), 'duplicate criterion id "keeps-left"'),
        (Rubric((_criterion(id="Keeps Left"),), credit=1), 'criterion id "Keeps Left" must be'),
        (Rubric((_criterion(id=""),), credit=1), 'criterion id "" must be'),
        (Rubric((_criterion(id="x" * 41),), credit=1), "must be 1 to 40 characters"),
        (Rubric((_criterion(description=" "),), credit=1), 'criterion "keeps-left" has no desc'),
        (Rubric((_criterion(points=0),), credit=1), "points must be between 1 and 10, got 0"),
        (Rubric((_criterion(points=11),), credit=1), "points must be between 1 and 10, got 11"),
        (Rubric((_criterion(concepts=()),), credit=1), 'criterion "keeps-left" has no concepts'),
        (Rubric((_criterion(concepts=("  ",)),), credit=1), "concept 1 is empty"),
        (
            Rubric((_criterion(concepts=("rows", "r" * 201)),), credit=1),
            "concept 2 is longer than 200 characters",
        ),
        (
            Rubric((_criterion(concepts=("it is what it was",)),), credit=1),
            'concept "it is what it was" has no content words',
        ),
        (Rubric((_criterion(misconceptions=("",)),), credit=1), "misconception 1 is empty"),
        (
            Rubric((_criterion(misconceptions=("of the",)),), credit=1),
            'misconception "of the" has no content words',
        ),
        (Rubric((_criterion(),), credit=0), "credit must be between 1 and the total of 2 points"),
        (Rubric((_criterion(),), credit=3), "credit must be between 1 and the total of 2 points"),
    ],
)
def test_unusable_rubrics_are_refused_with_the_reason(rubric: Rubric, message: str) -> None:
    with pytest.raises(RubricError) as caught:
        rubric.validate()
    assert message in str(caught.value)
    with pytest.raises(RubricError):
        grade_text(rubric, "It keeps the rows of the left table.")


def test_a_valid_rubric_passes_and_totals_its_points() -> None:
    MUTABLE_DEFAULT.validate()
    assert MUTABLE_DEFAULT.total == 4
    assert Rubric(tuple(_criterion(id=f"c{i}") for i in range(20)), credit=40).total == 40


# --- answers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("", "the answer is empty"),
        (" \n\t ", "the answer is empty"),
        ("x" * (MAX_ANSWER_CHARS + 1), f"longer than {MAX_ANSWER_CHARS} characters"),
    ],
)
def test_unusable_answers_raise(answer: str, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        grade_text(LEFT_JOIN, answer)


def test_an_answer_at_the_limit_is_graded() -> None:
    answer = ("It keeps the rows of the left table. " * 200)[:MAX_ANSWER_CHARS]
    grade = grade_text(LEFT_JOIN, answer)
    assert result(grade, "keeps-left").points == 2


def test_an_answer_without_words_earns_nothing() -> None:
    grade = grade_text(LEFT_JOIN, "?!? -- ...")
    assert grade.points == 0
    assert all(r.evidence is None for r in grade.criteria)


_VOCABULARY = [
    "keeps", "rows", "row", "left", "table", "tables", "right", "columns", "colums", "null",
    "not", "no", "never", "doesn't", "only", "just", "matching", "all", "every", "None",
    "default", "list", "median", "outliers", "café", "Cafe\u0301", "\u201cquoted\u201d", "ß",
    "\ufb01le", "½", ".", ",", ";", "\n", "e.g.", "-", "''", "it's",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    answer=st.one_of(
        st.text(max_size=MAX_ANSWER_CHARS),
        st.lists(st.sampled_from(_VOCABULARY), max_size=400).map(" ".join),
    ).filter(lambda a: a.strip() != "" and len(a) <= MAX_ANSWER_CHARS),
    rubric=st.sampled_from([LEFT_JOIN, MUTABLE_DEFAULT, MEDIAN]),
)
def test_any_answer_grades_within_bounds(answer: str, rubric: Rubric) -> None:
    grade = grade_text(rubric, answer)
    assert 0 <= grade.points <= grade.total == rubric.total
    assert grade.points == sum(r.points for r in grade.criteria)
    assert grade.correct == (grade.points >= rubric.credit)
    assert 0.0 <= grade.confidence <= 1.0
    assert grade.needs_review == (grade.confidence < REVIEW_BELOW)
    for r, criterion in zip(grade.criteria, rubric.criteria, strict=True):
        assert r.id == criterion.id
        assert r.points in (0, criterion.points)
        assert 0.0 <= r.confidence <= 1.0
        assert r.evidence is None or r.evidence in answer
        assert r.points == 0 or r.evidence
