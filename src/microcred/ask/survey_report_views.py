"""A survey's report page, its CSV export, and the same two for the JSON API.

Staff (`/console/surveys/{id}/report`): KPI tiles, responses over time, completion and answer
quality per persona, then per question the differences between personas (shares of each
option, scale distributions, free-text themes with quotes and distinctive words) and the
stated test, then the A/B comparison. Every chart is SVG drawn on the server
(`kit.web.charts`) with its numbers in a table beside it; no script, no inline style.

API (`/api/v1/surveys/{id}/report`, `/api/v1/surveys/{id}/responses.csv`): a staff API token
with the "read" scope; the CSV, which carries the contacts of respondents who opted in, needs
an editor role as well (the service checks it and audits every export).

The rules live in `ask.survey_report`; these handlers parse, authorise, call it and render.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from microcred.ask import survey_report, surveys
from microcred.ask.survey_analysis import QuestionDifferences, StatTest, SurveyReport
from microcred.identity.deps import PagePrincipal, Reader, scoped
from microcred.kit.principal import Principal
from microcred.kit.web import charts
from microcred.kit.web.deps import DbSession, SettingsDep
from microcred.kit.web.pages import render, require_staff

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["surveys"])

# The CSV holds every answer and opted-in contacts: the roles that build surveys export them.
Exporter = Annotated[Principal, Depends(scoped("read", *surveys.EDITOR_ROLES))]

# Keys are the analysis's persona names ("unspecified" is the survey's "other").
PERSONA_LABELS = {
    "learner": "Learners",
    "educator": "Educators",
    "employer": "Employers",
    "unspecified": "Someone else",
}
ARM_LABELS = {"shown": "AI answers shown", "hidden": "AI answers hidden"}
KIND_LABELS = {
    "free_text": "Free text",
    "single_choice": "One choice",
    "multiple_choice": "Several choices",
    "scale": "Scale",
}
# A report shows everything it computed: never cached by a shared cache (anonymous quotes are
# still the institution's respondents' words).
NO_STORE = {"Cache-Control": "private, no-store"}


def _can_export(principal: Principal) -> bool:
    return "admin" in principal.roles or bool(set(surveys.EDITOR_ROLES) & principal.roles)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def stated_test(test: StatTest | None, note: str | None) -> str:
    """The test named with its statistic, degrees of freedom, p-value and effect size, or why
    there is none, in words a reader can quote."""
    if test is None:
        return f"No test: {note or 'too few answers for a test'}."
    p = "p < 0.001" if test.p_value < 0.001 else f"p = {test.p_value:.3f}"
    dof = f", {test.dof} degrees of freedom" if test.dof is not None else ""
    effect = (
        f", {test.effect_size_name} = {test.effect_size:.2f}"
        if test.effect_size is not None and test.effect_size_name
        else ""
    )
    verdict = (
        "a statistically significant difference between personas"
        if test.p_value < 0.05
        else "no statistically significant difference between personas"
    )
    return (
        f"{test.test[:1].upper()}{test.test[1:]}: statistic {test.statistic:.2f}{dof}, {p}"
        f"{effect} ({test.detail}); {verdict} at the 5% level."
    )


def _scale_label(point: int, points: Sequence[int], ends: Sequence[str]) -> str:
    if len(ends) == 2 and points and point == points[0]:
        return f"{point} ({ends[0]})"
    if len(ends) == 2 and points and point == points[-1]:
        return f"{point} ({ends[1]})"
    return str(point)


def _question_view(
    q: QuestionDifferences, *, options: Sequence[str], chart_id: str
) -> dict[str, Any]:
    """The chart and the rows of its table for one question."""
    view: dict[str, Any] = {"q": q, "kind_label": KIND_LABELS.get(q.kind, q.kind), "chart": None}
    if q.choices:
        labels = list(q.choices[0].counts)  # the options in the survey's order, then any extra
        view["options"] = labels
        view["chart"] = charts.grouped_bar_chart(
            labels,
            [(PERSONA_LABELS[g.persona], [g.shares[o] for o in labels]) for g in q.choices],
            title=f"Question {q.number}: share of each persona choosing each option",
            value_format=charts.percent,
            chart_id=chart_id,
        )
    elif q.scale:
        points = list(q.scale_points)
        labels = [_scale_label(p, points, options) for p in points]
        view["points"] = [(str(p), label) for p, label in zip(points, labels, strict=True)]
        view["chart"] = charts.grouped_bar_chart(
            labels,
            [
                (
                    PERSONA_LABELS[g.persona],
                    [g.distribution.get(str(p), 0) / g.n if g.n else math.nan for p in points],
                )
                for g in q.scale
            ],
            title=f"Question {q.number}: share of each persona giving each rating",
            value_format=charts.percent,
            chart_id=chart_id,
        )
    elif q.themes:
        personas = [p for p in PERSONA_LABELS if any(p in t.share_by_persona for t in q.themes)]
        view["theme_personas"] = personas
        view["chart"] = charts.grouped_bar_chart(
            [t.label for t in q.themes],
            [
                (PERSONA_LABELS[p], [t.share_by_persona.get(p, 0.0) for t in q.themes])
                for p in personas
            ],
            title=f"Question {q.number}: share of each persona's answers in each theme",
            value_format=charts.percent,
            chart_id=chart_id,
        )
    return view


def _page_context(page: survey_report.ReportPage) -> dict[str, object]:
    report = page.report
    survey = page.survey
    # Personas the survey asks, in the analysis's names; others appear only if they answered.
    asked = [surveys.ANALYSIS_PERSONA.get(p, p) for p in survey.personas]
    personas = [p for p in PERSONA_LABELS if p in asked or report.totals.by_persona[p].started > 0]
    buckets = report.timeline.buckets
    timeline_chart = charts.line_chart(
        [
            ("Started (running total)", [float(b.cumulative_started) for b in buckets]),
            ("Submitted (running total)", [float(b.cumulative_submitted) for b in buckets]),
        ],
        [b.label for b in buckets],
        title="Responses started and submitted over time (running totals)",
        chart_id="timeline-chart",
        empty_message="No responses yet",
    )
    completion_chart = charts.bar_chart(
        [
            (PERSONA_LABELS[p], report.totals.by_persona[p].completion_rate or 0.0)
            for p in personas
            if report.totals.by_persona[p].started
        ],
        title="Completion rate per persona",
        value_format=charts.percent,
        chart_id="completion-chart",
        empty_message="No responses yet",
    )
    quality_chart = charts.bar_chart(
        [
            (PERSONA_LABELS[p], report.quality.by_persona[p].mean_quality or 0.0)
            for p in personas
            if p in report.quality.by_persona and report.quality.by_persona[p].n_answers
        ],
        title="Mean free-text answer quality per persona (0 to 1)",
        value_format="{:.2f}",
        chart_id="quality-chart",
        empty_message="No free-text answers yet",
    )
    options = {str(q.id): list(q.options) for q in survey.questions}
    questions = [
        _question_view(q, options=options.get(q.question_id, []), chart_id=f"q{q.number}-chart")
        for q in report.questions
    ]
    return {
        "survey": survey,
        "report": report,
        "seeded": page.seeded,
        "personas": personas,
        "persona_labels": PERSONA_LABELS,
        "arm_labels": ARM_LABELS,
        "questions": questions,
        "timeline_chart": timeline_chart,
        "completion_chart": completion_chart,
        "quality_chart": quality_chart,
        "stated_test": stated_test,
        "pct": _pct,
        "num": _num,
    }


# --- pages -----------------------------------------------------------------------------------


@router.get("/console/surveys/{survey_id}/report")
def report_page(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    survey_id: uuid.UUID,
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    page = survey_report.report_page(session, actor=staff, survey_id=survey_id, settings=settings)
    return render(
        request,
        "ask/report.html",
        {**_page_context(page), "can_export": _can_export(staff)},
        principal=staff,
        headers=NO_STORE,
    )


def _csv_response(text: str, survey_id: uuid.UUID) -> Response:
    name = survey_report.csv_filename(survey_id)
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE},
    )


@router.get("/console/surveys/{survey_id}/responses.csv")
def responses_csv_page(
    session: DbSession, settings: SettingsDep, principal: PagePrincipal, survey_id: uuid.UUID
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    text = survey_report.survey_csv(session, actor=staff, survey_id=survey_id, settings=settings)
    return _csv_response(text, survey_id)


# --- API -------------------------------------------------------------------------------------


def _jsonable(value: object) -> object:
    """`dataclasses.asdict` output with any date or time as an ISO string (the report's own
    are already strings; this keeps the contract if one is added)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def report_json(page: survey_report.ReportPage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "survey": {
            "id": str(page.survey.id),
            "title": page.survey.title,
            "status": page.survey.status,
            "personas": list(page.survey.personas),
            "ab_test": page.survey.ab_test,
        },
        "seeded_responses": page.seeded,
    }
    report: SurveyReport = page.report
    data = _jsonable(dataclasses.asdict(report))
    assert isinstance(data, dict)
    return {**body, **data}


@api_router.get("/surveys/{survey_id}/report")
def report_api(
    session: DbSession, settings: SettingsDep, principal: Reader, survey_id: uuid.UUID
) -> JSONResponse:
    """The survey's report (see `ask.survey_analysis` for every figure's definition)."""
    page = survey_report.report_page(
        session, actor=principal, survey_id=survey_id, settings=settings
    )
    return JSONResponse(report_json(page), headers=NO_STORE)


@api_router.get("/surveys/{survey_id}/responses.csv", response_class=Response)
def responses_csv_api(
    session: DbSession, settings: SettingsDep, principal: Exporter, survey_id: uuid.UUID
) -> Response:
    """One row per response; the contact column is filled only for respondents who opted in."""
    text = survey_report.survey_csv(
        session, actor=principal, survey_id=survey_id, settings=settings
    )
    return _csv_response(text, survey_id)


__all__ = ["api_router", "report_json", "router", "stated_test"]
