"""The demo's stakeholder survey: companion answers from the knowledge base, seeded responses.

One published survey asks learners, educators and employers what they think of
micro-credentials, with a "Here's what AI says" answer after each question (composed from the
knowledge base and approved, as staff would) and an A/B test. About 90 made-up responses,
spread over the last 30 days and marked `seeded`, give its report something to show: the
personas lean differently on purpose (learners care about cost and flexibility, educators
about skills and quality assurance, employers about recognition, skills and verification), so
the persona differences and themes are visible. The A/B arms are drawn at random with no
built-in effect, so the A/B section honestly shows no difference.

Everything is drawn from `random.Random(SEED)` and dated relative to `now`, so the same `now`
gives the same answers, times and arms (ids, the link and tokens are random as always).
Responses are made through the public rules (`start_response`, `submit_response`), then their
arm, times and `seeded` flag are set on the rows: the rules have no way to backdate or mark a
response, and should not have one.

Unfinished responses are dated within `surveys.ABANDONED_AFTER`, since the retention job
deletes older ones (as it would real ones); once the demo is older than that, the job removes
them and the completion rate rises, as it would for a real survey.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from microcred.ask import surveys
from microcred.ask.models import Survey, SurveyQuestion
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings

SEED = 20240611
TITLE = "Micro-credentials: what do learners, educators and employers think?"
INTRO = (
    "Demo data: this survey and every response to it were made up by the microcred demo to "
    "show how surveys and their report work. They are not real people's answers.\n\n"
    "We are designing our micro-credentials with the people who earn, teach and recognise "
    "them. Tell us what matters to you; after each question you can open a short "
    "“Here's what AI says” answer drawn from our own sources."
)
PERSONAS = ("learner", "educator", "employer")
RESPONSES = {"learner": 36, "educator": 27, "employer": 27}
DAYS = 30
SUBMIT_RATE = 0.8
CONTACT_RATE = 0.06
NON_ANSWER_RATE = 0.08
NON_ANSWERS = ("n/a", "idk", "nothing", "no comment", "dunno", "asdfgh")
SKIP_OPTIONAL_RATE = 0.1


@dataclass(frozen=True, slots=True)
class DemoQuestion:
    key: str
    kind: str
    prompt: str
    options: tuple[str, ...] = ()
    required: bool = True
    # What the knowledge base is asked for the companion answer (phrased as visitors ask).
    companion: str | None = None


QUESTIONS = (
    DemoQuestion(
        "choose",
        "single_choice",
        "Which matters most when you choose a micro-credential?",
        (
            "Cost",
            "Time it takes",
            "Recognition by employers",
            "The skills it teaches",
            "Flexibility",
            "Quality assurance",
        ),
        companion="What should I look at when choosing a micro-credential?",
    ),
    DemoQuestion(
        "influence",
        "scale",
        "How much would a micro-credential influence a hiring or enrolment decision?",
        ("1 = not at all", "5 = decisively"),
        companion="Do employers recognise micro-credentials?",
    ),
    DemoQuestion(
        "share",
        "multiple_choice",
        "Where would you share a micro-credential?",
        (
            "LinkedIn profile",
            "CV or résumé",
            "Digital wallet",
            "E-mail signature",
            "Job application portal",
            "Nowhere",
        ),
        companion="Can I share my micro-credential, and who owns it?",
    ),
    DemoQuestion(
        "valuable",
        "free_text",
        "What would make micro-credentials more valuable to you?",
        companion="What makes a micro-credential worth it?",
    ),
    DemoQuestion(
        "worries",
        "free_text",
        "What worries you about micro-credentials?",
        required=False,
        companion="Do employers accept micro-credentials?",
    ),
    DemoQuestion(
        "pay",
        "single_choice",
        "Who should pay for a micro-credential?",
        ("The learner", "The employer", "Public funding", "Shared between them"),
        companion="How much does a micro-credential cost?",
    ),
    DemoQuestion(
        "verify",
        "scale",
        "How confident are you that you could check a micro-credential is genuine?",
        ("1 = not at all confident", "5 = fully confident"),
        companion="How can an employer verify a micro-credential?",
    ),
)

# Weights per option (single choice and scale points 1..5) or the chance of picking each
# option (multiple choice), per persona: the leanings the report should reveal.
CHOICE_WEIGHTS: Mapping[str, Mapping[str, Sequence[float]]] = {
    "choose": {
        "learner": (34, 14, 13, 10, 26, 3),
        "educator": (7, 6, 14, 36, 9, 28),
        "employer": (3, 6, 34, 42, 4, 11),
    },
    "influence": {
        "learner": (4, 12, 34, 34, 16),
        "educator": (8, 24, 38, 22, 8),
        "employer": (16, 32, 30, 18, 4),
    },
    "share": {
        "learner": (0.85, 0.7, 0.35, 0.15, 0.45, 0.03),
        "educator": (0.6, 0.5, 0.55, 0.35, 0.15, 0.05),
        "employer": (0.5, 0.6, 0.2, 0.05, 0.7, 0.08),
    },
    "pay": {
        "learner": (12, 42, 32, 14),
        "educator": (14, 18, 46, 22),
        "employer": (34, 22, 18, 26),
    },
    "verify": {
        "learner": (12, 24, 34, 22, 8),
        "educator": (6, 14, 32, 34, 14),
        "employer": (22, 32, 28, 14, 4),
    },
}

# Free-text answers: an opening, a core idea and sometimes a closing remark, drawn per persona.
# The cores carry the persona's concerns; the rest varies the wording like people do.
OPENINGS = ("", "", "Honestly, ", "For me, ", "Mainly ", "Simply put, ", "Above all, ")
CLOSINGS = (
    "",
    "",
    " That would make a real difference.",
    " Right now that is what is missing.",
    " Otherwise it is hard to justify the time.",
    " I have seen this work elsewhere.",
)
WORRY_OPENINGS = ("", "", "Honestly, ", "Mostly ", "To be honest, ", "Above all, ")
WORRY_LEADS = ("", "I worry about ", "My main worry is ", "I am concerned about ")
WORRY_CLOSINGS = (
    "",
    "",
    " That would put me off.",
    " We have seen it happen already.",
    " Nobody seems to have an answer yet.",
)
VALUABLE: Mapping[str, Sequence[str]] = {
    "learner": (
        "a lower price, or being able to pay in instalments",
        "being able to study in the evenings and at weekends around my job",
        "knowing that employers in my field actually recognise them",
        "credits that stack towards a full degree later on",
        "short modules I can finish in a few weeks without taking time off work",
        "a badge I can add to LinkedIn and my CV in one click",
        "funding from my employer or a public scheme so the cost is not on me",
        "flexible deadlines, because my shifts change every week",
    ),
    "educator": (
        "quality assurance on the same level as our accredited programmes",
        "a shared workload standard such as ECTS credits so they can be compared",
        "clear learning outcomes and assessment criteria published with each credential",
        "recognition of prior learning and a path to stack them into programmes",
        "a common metadata standard like Open Badges so other institutions can read them",
        "proper assessment of the skills, not just attendance",
        "time and funding for staff to design good short courses",
        "external review of the assessment by peers from other institutions",
    ),
    "employer": (
        "seeing exactly which skills were assessed and how",
        "verification I can do in seconds without phoning the university",
        "alignment with the ESCO skills we already use in our job descriptions",
        "evidence of practical work, such as a project we can look at",
        "a trusted issuer and a clear expiry or renewal date",
        "credentials that map to the roles we hire for in data and IT",
        "a short description a recruiter understands without a glossary",
        "involvement of industry in designing the assessment",
    ),
}
WORRIES: Mapping[str, Sequence[str]] = {
    "learner": (
        "paying for something that employers then ignore",
        "the cost adding up if I need several of them",
        "not having enough time to finish alongside work and family",
        "too many providers and no way to tell good ones from bad ones",
        "losing access to my badge if the provider disappears",
        "credits that will not count towards a degree later",
    ),
    "educator": (
        "a race to the bottom on quality and assessment",
        "fragmenting the curriculum into pieces that do not add up",
        "the workload of assessing and issuing on top of our teaching",
        "inconsistent standards between institutions and countries",
        "commercial providers competing with accredited programmes on price alone",
        "learners collecting badges instead of building real understanding",
    ),
    "employer": (
        "not knowing whether a credential is genuine",
        "too many badges with no clear meaning for recruiters",
        "skills that were not properly assessed",
        "having to check each provider's standards ourselves",
        "credentials that go out of date as the technology moves on",
        "candidates overstating what a short course proves",
    ),
}


def _sentence(
    rng: random.Random,
    cores: Sequence[str],
    *,
    openings: Sequence[str],
    leads: Sequence[str],
    closings: Sequence[str],
) -> str:
    text = f"{rng.choice(openings)}{rng.choice(leads)}{rng.choice(cores)}."
    return text[:1].upper() + text[1:] + rng.choice(closings)


def _free_text(rng: random.Random, key: str, persona: str) -> str:
    if rng.random() < NON_ANSWER_RATE:
        return rng.choice(NON_ANSWERS)
    if key == "valuable":
        answer = _sentence(
            rng, VALUABLE[persona], openings=OPENINGS, leads=("",), closings=CLOSINGS
        )
        if rng.random() < 0.35:  # some people name two things
            second = rng.choice([c for c in VALUABLE[persona] if c not in answer])
            answer = f"{answer} Also {second}."
        return answer
    return _sentence(
        rng,
        WORRIES[persona],
        openings=WORRY_OPENINGS,
        leads=WORRY_LEADS,
        closings=WORRY_CLOSINGS,
    )


def _answers(
    rng: random.Random, persona: str, questions: Mapping[str, SurveyQuestion]
) -> dict[uuid.UUID, object]:
    out: dict[uuid.UUID, object] = {}
    for spec in QUESTIONS:
        q = questions[spec.key]
        if not spec.required and rng.random() < SKIP_OPTIONAL_RATE:
            continue
        if spec.kind == "free_text":
            out[q.id] = _free_text(rng, spec.key, persona)
        elif spec.kind == "single_choice":
            out[q.id] = rng.choices(spec.options, CHOICE_WEIGHTS[spec.key][persona])[0]
        elif spec.kind == "scale":
            out[q.id] = rng.choices(range(1, 6), CHOICE_WEIGHTS[spec.key][persona])[0]
        else:
            chances = CHOICE_WEIGHTS[spec.key][persona]
            picked = [o for o, p in zip(spec.options, chances, strict=True) if rng.random() < p]
            if "Nowhere" in picked or not picked:
                picked = ["Nowhere"] if "Nowhere" in picked else [spec.options[0]]
            out[q.id] = picked
    return out


def _build(
    session: Session, *, settings: Settings, actor: Principal
) -> tuple[Survey, dict[str, SurveyQuestion]]:
    survey = surveys.create_survey(
        session,
        actor=actor,
        title=TITLE,
        intro=INTRO,
        personas=PERSONAS,
        companion_display="after",
        ab_test=True,
        retention_days=730,
    )
    questions: dict[str, SurveyQuestion] = {}
    for spec in QUESTIONS:
        q = surveys.add_question(
            session,
            actor=actor,
            survey_id=survey.id,
            kind=spec.kind,
            prompt=spec.prompt,
            options=spec.options,
            required=spec.required,
            companion_question=spec.companion,
        )
        q = surveys.generate_companion(
            session, actor=actor, question_id=q.id, settings=settings, survey_id=survey.id
        )
        # An abstention stays without a companion (status "none"): the knowledge base does not
        # support an answer, and the demo should not pretend it does.
        if q.companion_status == "draft":
            q = surveys.approve_companion(
                session, actor=actor, question_id=q.id, survey_id=survey.id
            )
        questions[spec.key] = q
    surveys.publish_survey(session, actor=actor, survey_id=survey.id)
    return survey, questions


def seed_survey(
    session: Session, *, settings: Settings, actor: Principal, now: dt.datetime
) -> Survey:
    """Create, publish and fill the demo survey in the actor's institution (an editor or
    admin). Call it once the knowledge base is indexed, or the companions abstain.
    Flushes, never commits."""
    rng = random.Random(SEED)  # noqa: S311 - made-up demo answers, reproducible on purpose
    survey, questions = _build(session, settings=settings, actor=actor)
    # The survey opened just before its first response.
    survey.created_at = now - dt.timedelta(days=DAYS + 1, hours=3)
    survey.published_at = now - dt.timedelta(days=DAYS, hours=1)
    people = [p for p, n in RESPONSES.items() for _ in range(n)]
    rng.shuffle(people)
    for n, persona in enumerate(people):
        submitted = rng.random() < SUBMIT_RATE
        # More responses soon after the launch, then a long tail, like a link shared once.
        # Unfinished ones are recent: the retention job deletes them after ABANDONED_AFTER, so
        # a real survey only ever shows the last few days' unfinished responses.
        days = (
            rng.triangular(0, DAYS, DAYS * 0.8)
            if submitted
            else rng.uniform(0, surveys.ABANDONED_AFTER.days - 1)
        )
        started_at = now - dt.timedelta(days=days, minutes=rng.randint(0, 59))
        opt_in = rng.random() < CONTACT_RATE
        response, token = surveys.start_response(
            session,
            slug=survey.slug,
            persona=persona,
            contact_opt_in=opt_in,
            contact=f"respondent{n + 1}@example.org" if opt_in else None,
        )
        arm = rng.choice(("shown", "hidden"))
        response.arm = arm
        response.companion_display = survey.companion_display if arm == "shown" else "none"
        answers = _answers(rng, persona, questions) if submitted else {}
        if submitted:
            response = surveys.submit_response(
                session,
                slug=survey.slug,
                token=token,
                answers=answers,
            )
        response.seeded = True
        response.started_at = started_at
        if submitted:
            response.submitted_at = min(now, started_at + dt.timedelta(minutes=rng.randint(3, 25)))
    session.flush()
    return survey


__all__ = ["QUESTIONS", "TITLE", "seed_survey"]
