"""Survey analysis: non-answers, quality, totals and timeline, persona tests, themes, A/B, CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from microcred.ask.survey_analysis import (
    REASON_COPIED_COMPANION,
    REASON_COPIED_QUESTION,
    REASON_EMPTY,
    REASON_FEW_LETTERS,
    REASON_MASH,
    REASON_STOCK,
    TOO_FEW,
    AnswerValue,
    QuestionSpec,
    ResponseRecord,
    analyse,
    compare_proportions,
    detect_non_answer,
    score_answers,
    timeline,
    to_csv,
    totals,
)
from microcred.kit.ai.embedder import HashedEmbedder

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
TRUST = QuestionSpec(
    "trust",
    "free_text",
    "What would make employers trust a micro-credential?",
    companion_text=(
        "Employers tend to trust a micro-credential when an accredited institution issues it "
        "and it states which skills were assessed and how."
    ),
)
MATTERS = QuestionSpec(
    "matters", "single_choice", "What matters most?", ("Cost", "Skills demonstrated", "Time")
)
CHANNELS = QuestionSpec(
    "channels", "multiple_choice", "Where do you share it?", ("LinkedIn", "CV", "Email")
)
USEFUL = QuestionSpec("useful", "scale", "How useful is it?", ("Not useful", "Very useful"))

COST_ANSWERS = [
    "The fees are too high for a student budget",
    "Cost is the main barrier, the price should be lower",
    "I cannot afford the fee, cheaper courses would help",
    "The price of 200 euros is too expensive for me",
    "Tuition cost and exam fees put me off",
    "Lower the price and offer discounts on the fees",
]
RECOGNITION_ANSWERS = [
    "Employers need to recognise the badge when hiring",
    "Recognition by employers in my industry when recruiting",
    "If hiring managers recognised it on a CV",
    "Employer recognition is what counts for hiring",
    "Companies should recognise these badges in recruitment",
    "Recruiters must recognise the credential when hiring",
]


def response(
    rid: str,
    *,
    persona: str = "learner",
    arm: str = "shown",
    status: str = "submitted",
    started: datetime = T0,
    answers: dict[str, AnswerValue] | None = None,
    contact: str | None = None,
) -> ResponseRecord:
    return ResponseRecord(
        id=rid,
        persona=persona,
        arm=arm,
        companion_display="after" if arm == "shown" else "none",
        status=status,
        started_at=started,
        submitted_at=started + timedelta(minutes=7) if status == "submitted" else None,
        answers=answers or {},
        contact=contact,
    )


# ---------------------------------------------------------------------------------------------
# Non-answers and quality


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, REASON_EMPTY),
        ("", REASON_EMPTY),
        ("   \n", REASON_EMPTY),
        ("n/a", REASON_STOCK),
        ("N/A", REASON_STOCK),
        ("idk", REASON_STOCK),
        ("I don't know", REASON_STOCK),
        ("Don\u2019t know.", REASON_STOCK),
        ("no comment!", REASON_STOCK),
        ("Nothing", REASON_STOCK),
        ("none", REASON_STOCK),
        ("-", REASON_STOCK),
        (".", REASON_STOCK),
        ("?", REASON_STOCK),
        ("x", REASON_FEW_LETTERS),
        ("5", REASON_FEW_LETTERS),
        ("asdfgh", REASON_MASH),
        ("qwerty asdf", REASON_MASH),
        ("aaaaaa", REASON_MASH),
        ("hahahaha", REASON_MASH),
        ("jkjkjk", REASON_MASH),
        ("what would make employers trust a micro-credential", REASON_COPIED_QUESTION),
        (TRUST.companion_text, REASON_COPIED_COMPANION),
        (
            "an accredited institution issues it and it states which skills were assessed",
            REASON_COPIED_COMPANION,
        ),
    ],
)
def test_non_answers_are_flagged_with_their_reason(text: str | None, reason: str) -> None:
    found = detect_non_answer(text, prompt=TRUST.prompt, companion_text=TRUST.companion_text)
    assert found == reason


@pytest.mark.parametrize(
    "text",
    [
        "Cost",
        "No",  # a short answer is still an answer
        "Skills that were actually assessed",
        "Employers trust it when the skills and the assessment are listed",
        "I agree with the AI, but the price matters more to me than accreditation",
    ],
)
def test_real_answers_are_not_flagged(text: str) -> None:
    assert detect_non_answer(text, prompt=TRUST.prompt, companion_text=TRUST.companion_text) is None


def test_specific_on_topic_beats_vague_beats_non_answer() -> None:
    texts = {
        "specific": (
            "Employers trust a micro-credential when it lists the assessed skills, for example "
            "SQL queries graded with a rubric, and links each skill to ESCO."
        ),
        "vague": "It is good I think.",
        "none": "idk",
    }
    responses = [response(k, answers={"trust": AnswerValue(text=v)}) for k, v in texts.items()]
    scored = {
        a.response_id: a for a in score_answers([TRUST], responses, embedder=HashedEmbedder())
    }
    assert scored["specific"].quality > scored["vague"].quality > scored["none"].quality == 0.0
    assert scored["specific"].specificity > scored["vague"].specificity
    assert scored["specific"].on_topic > scored["vague"].on_topic
    assert scored["none"].non_answer
    assert scored["none"].non_answer_reason == REASON_STOCK
    assert all(0.0 <= a.quality <= 1.0 for a in scored.values())


# ---------------------------------------------------------------------------------------------
# Totals and timeline


def test_completion_rate_overall_per_persona_and_arm() -> None:
    responses = [
        response("a", persona="learner", status="submitted"),
        response("b", persona="learner", status="started"),
        response("c", persona="employer", arm="hidden", status="submitted"),
        response("d", persona="employer", arm="hidden", status="submitted"),
    ]
    result = totals(responses)
    assert (result.overall.started, result.overall.submitted) == (4, 3)
    assert result.overall.completion_rate == 0.75
    assert result.by_persona["learner"].completion_rate == 0.5
    assert result.by_persona["employer"].completion_rate == 1.0
    assert result.by_persona["educator"].completion_rate is None
    assert result.by_arm["hidden"].submitted == 2
    assert result.by_arm["shown"].completion_rate == 0.5


def test_timeline_counts_per_day_up_to_now_with_running_totals() -> None:
    responses = [
        response("a", started=T0),
        response("b", started=T0 + timedelta(hours=2), status="started"),
        response("c", started=T0 + timedelta(days=2)),
    ]
    result = timeline(responses, now=T0 + timedelta(days=3))
    assert result.unit == "day"
    assert [b.label for b in result.buckets] == [
        "2025-03-03",
        "2025-03-04",
        "2025-03-05",
        "2025-03-06",
    ]
    assert [b.started for b in result.buckets] == [2, 0, 1, 0]
    assert [b.submitted for b in result.buckets] == [1, 0, 1, 0]
    assert [b.cumulative_started for b in result.buckets] == [2, 2, 3, 3]
    assert result.buckets[-1].cumulative_submitted == 2


def test_timeline_switches_to_iso_weeks_past_sixty_days() -> None:
    responses = [response("a", started=T0), response("b", started=T0 + timedelta(days=70))]
    result = timeline(responses, now=T0 + timedelta(days=70))
    assert result.unit == "iso_week"
    assert result.buckets[0].label == "2025-W10"
    assert result.buckets[0].start == "2025-03-03"  # a Monday
    assert len(result.buckets) == 11
    assert sum(b.started for b in result.buckets) == 2
    assert timeline([], now=T0).buckets == ()


# ---------------------------------------------------------------------------------------------
# Persona differences


def _choice_responses(per_persona: dict[str, list[str]]) -> list[ResponseRecord]:
    return [
        response(f"{persona}{i}", persona=persona, answers={"matters": AnswerValue(choices=(c,))})
        for persona, chosen in per_persona.items()
        for i, c in enumerate(chosen)
    ]


def test_chi_square_finds_a_planted_difference() -> None:
    responses = _choice_responses(
        {
            "employer": ["Skills demonstrated"] * 18 + ["Cost"] * 2,
            "learner": ["Cost"] * 14 + ["Skills demonstrated"] * 3 + ["Time"] * 3,
        }
    )
    report = analyse([MATTERS], responses, embedder=HashedEmbedder(), now=T0)
    result = report.questions[0]
    assert result.test is not None
    assert result.test.test == "chi-square test of independence"
    assert result.test.p_value < 0.001
    assert result.test.dof == 2
    assert result.test.effect_size is not None
    assert result.test.effect_size > 0.5
    employers = next(g for g in result.choices if g.persona == "employer")
    assert employers.counts["Skills demonstrated"] == 18
    assert employers.shares["Skills demonstrated"] == 0.9
    assert "Employers chose 'Skills demonstrated' most (90%)" in result.summary
    assert "statistically significant" in result.summary
    assert "not statistically" not in result.summary


def test_chi_square_does_not_find_a_non_difference() -> None:
    same = ["Cost"] * 4 + ["Skills demonstrated"] * 4 + ["Time"] * 4
    responses = _choice_responses({"employer": same, "learner": same})
    result = analyse([MATTERS], responses, embedder=HashedEmbedder(), now=T0).questions[0]
    assert result.test is not None
    assert result.test.p_value > 0.5
    assert "not statistically significant" in result.summary


def test_no_test_with_too_few_answers_per_persona() -> None:
    responses = _choice_responses(
        {"employer": ["Skills demonstrated"] * 10, "learner": ["Cost"] * 4}
    )
    result = analyse([MATTERS], responses, embedder=HashedEmbedder(), now=T0).questions[0]
    assert result.test is None
    assert result.test_note == TOO_FEW
    assert TOO_FEW in result.summary


def test_multiple_choice_tests_each_option_selected_or_not() -> None:
    responses = [
        response(
            f"e{i}", persona="employer", answers={"channels": AnswerValue(choices=("CV", "Email"))}
        )
        for i in range(12)
    ] + [
        response(
            f"l{i}", persona="learner", answers={"channels": AnswerValue(choices=("LinkedIn",))}
        )
        for i in range(12)
    ]
    result = analyse([CHANNELS], responses, embedder=HashedEmbedder(), now=T0).questions[0]
    assert set(result.option_tests) == {"LinkedIn", "CV", "Email"}
    assert result.test is not None
    assert result.test.p_value < 0.05
    learners = next(g for g in result.choices if g.persona == "learner")
    assert learners.shares == {"LinkedIn": 1.0, "CV": 0.0, "Email": 0.0}


def test_scale_kruskal_wallis_with_enough_answers() -> None:
    responses = [
        response(f"e{i}", persona="employer", answers={"useful": AnswerValue(number=n)})
        for i, n in enumerate([5, 5, 4, 5, 4, 5])
    ] + [
        response(f"l{i}", persona="learner", answers={"useful": AnswerValue(number=n)})
        for i, n in enumerate([1, 2, 1, 2, 2, 1])
    ]
    result = analyse([USEFUL], responses, embedder=HashedEmbedder(), now=T0).questions[0]
    assert result.scale_points == (1, 2, 3, 4, 5)
    assert result.test is not None
    assert result.test.test == "Kruskal-Wallis H test"
    assert result.test.p_value < 0.05
    employers = next(g for g in result.scale if g.persona == "employer")
    assert employers.distribution == {"1": 0, "2": 0, "3": 0, "4": 2, "5": 4}
    assert result.summary.startswith("Employers rate highest")


def _theme_responses() -> list[ResponseRecord]:
    personas = ["learner", "educator", "employer"]
    return [
        response(f"c{i}", persona=personas[i % 3], answers={"trust": AnswerValue(text=t)})
        for i, t in enumerate(COST_ANSWERS)
    ] + [
        response(f"r{i}", persona=personas[(i + 1) % 3], answers={"trust": AnswerValue(text=t)})
        for i, t in enumerate(RECOGNITION_ANSWERS)
    ]


def test_themes_separate_two_planted_topics_with_quotes_from_the_theme() -> None:
    report = analyse([TRUST], _theme_responses(), embedder=HashedEmbedder(), now=T0)
    themes = report.questions[0].themes
    assert len(themes) == 2
    members = {}
    for theme in themes:
        assert theme.size == 6
        assert 1 <= len(theme.quotes) <= 3
        members[theme.label] = {q.response_id[0] for q in theme.quotes}
        # quotes prefer different personas
        assert len({q.persona for q in theme.quotes}) == len(theme.quotes)
    assert sorted(members.values(), key=sorted) == [{"c"}, {"r"}]
    labels = " ".join(t.label for t in themes)
    assert any(word in labels for word in ("price", "fees", "cost", "fee"))
    assert any(word in labels for word in ("recognise", "hiring", "recognition"))


def test_themes_and_distinctive_terms_on_tiny_inputs() -> None:
    for n in range(3):
        responses = _theme_responses()[:n]
        result = analyse([TRUST], responses, embedder=HashedEmbedder(), now=T0).questions[0]
        assert len(result.themes) == (1 if n else 0)
        assert result.summary


def test_distinctive_terms_per_persona() -> None:
    responses = [
        response(f"l{i}", persona="learner", answers={"trust": AnswerValue(text=t)})
        for i, t in enumerate(COST_ANSWERS)
    ] + [
        response(f"e{i}", persona="employer", answers={"trust": AnswerValue(text=t)})
        for i, t in enumerate(RECOGNITION_ANSWERS)
    ]
    terms = analyse([TRUST], responses, embedder=HashedEmbedder(), now=T0).questions[0]
    employer_terms = [t.term for t in terms.distinctive_terms["employer"]]
    learner_terms = [t.term for t in terms.distinctive_terms["learner"]]
    assert "hiring" in employer_terms
    assert "price" in learner_terms or "fees" in learner_terms
    assert all(t.z > 0 for t in terms.distinctive_terms["employer"])


# ---------------------------------------------------------------------------------------------
# A/B


def test_ab_uses_fisher_for_small_counts_and_z_for_large() -> None:
    small = compare_proportions(3, 4, 1, 4)
    assert small.test == "Fisher's exact test"
    assert (small.n_shown, small.n_hidden) == (4, 4)
    large = compare_proportions(80, 100, 60, 100)
    assert large.test == "two-proportion z-test"
    assert large.statistic is not None
    assert large.statistic == pytest.approx(3.086, abs=0.01)
    assert large.p_value < 0.01
    assert large.ci_low is not None
    assert large.ci_high is not None
    assert 0.0 < large.ci_low < 0.2 < large.ci_high
    assert "statistically significant" in large.sentence


def test_ab_in_the_report_and_when_one_arm_is_empty() -> None:
    responses = [
        response(f"s{i}", arm="shown", answers={"trust": AnswerValue(text=t)})
        for i, t in enumerate(COST_ANSWERS)
    ] + [
        response(f"h{i}", arm="hidden", status="started", answers={"trust": AnswerValue(text="-")})
        for i in range(6)
    ]
    ab = analyse([TRUST], responses, embedder=HashedEmbedder(), now=T0).ab
    assert ab.comparable
    assert ab.completion is not None
    assert ab.completion.shown_value == 1.0
    assert ab.completion.hidden_value == 0.0
    assert ab.quality is not None
    assert ab.quality.test == "Mann-Whitney U test"
    assert ab.quality.effect_size == 1.0
    only_shown = analyse([TRUST], responses[:6], embedder=HashedEmbedder(), now=T0).ab
    assert not only_shown.comparable
    assert only_shown.completion is None
    assert "no comparison is possible" in only_shown.note


def test_report_is_json_friendly_and_deterministic() -> None:
    questions = [TRUST, MATTERS, CHANNELS, USEFUL]
    responses = _theme_responses() + _choice_responses({"employer": ["Cost"] * 3})
    first = analyse(questions, responses, embedder=HashedEmbedder(), now=T0 + timedelta(days=1))
    second = analyse(questions, responses, embedder=HashedEmbedder(), now=T0 + timedelta(days=1))
    text = json.dumps(dataclasses.asdict(first), allow_nan=False)
    assert text == json.dumps(dataclasses.asdict(second), allow_nan=False)


def test_unknown_values_are_refused() -> None:
    with pytest.raises(ValueError, match="persona"):
        analyse([TRUST], [response("a", persona="robot")], embedder=HashedEmbedder(), now=T0)


# ---------------------------------------------------------------------------------------------
# CSV


def test_csv_rows_header_injection_and_contact() -> None:
    questions = [TRUST, MATTERS, CHANNELS, USEFUL]
    responses = [
        response(
            "a",
            answers={
                "trust": AnswerValue(text='=HYPERLINK("http://evil")'),
                "matters": AnswerValue(choices=("Cost",)),
                "channels": AnswerValue(choices=("LinkedIn", "CV")),
                "useful": AnswerValue(number=4),
            },
            contact="ada@example.org",
        ),
        response("b", status="started", answers={"trust": AnswerValue(text="@SUM(1)")}),
        response("c", answers={"trust": AnswerValue(text="-1+2")}),
    ]
    text = to_csv(questions, responses, include_contact=False)
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:7] == [
        "response_id",
        "persona",
        "arm",
        "companion_display",
        "status",
        "started_at",
        "submitted_at",
    ]
    assert header[7] == "Q1: What would make employers trust a micro-credential?"
    assert header[8:11] == [
        "Q2: What matters most?",
        "Q3: Where do you share it?",
        "Q4: How useful is it?",
    ]
    assert header[11:] == ["Q1 quality", "Q1 non-answer"]
    assert "contact" not in header
    assert len(rows) == 4
    first = dict(zip(header, rows[1], strict=True))
    assert first["started_at"] == "2025-03-03T09:00:00Z"
    assert first["Q1: What would make employers trust a micro-credential?"].startswith("'=")
    assert first["Q3: Where do you share it?"] == "LinkedIn; CV"
    assert first["Q4: How useful is it?"] == "4"
    assert rows[2][7] == "'@SUM(1)"
    assert rows[2][6] == ""  # never submitted
    assert rows[3][7] == "'-1+2"
    assert "ada@example.org" not in text

    with_contact = list(csv.reader(io.StringIO(to_csv(questions, responses, include_contact=True))))
    assert with_contact[0][-1] == "contact"
    assert with_contact[1][-1] == "ada@example.org"


def test_csv_header_shortens_long_prompts() -> None:
    long = QuestionSpec("long", "free_text", "word " * 40)
    header = next(csv.reader(io.StringIO(to_csv([long], [], include_contact=False))))
    assert header[7].startswith("Q1: word")
    assert len(header[7]) <= len("Q1: ") + 60
