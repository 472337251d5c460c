"""The skills-intelligence part of the demo: the bundled ESCO subset, a catalogue of data
micro-credentials with prerequisites, hours and prices, and a year of job postings.

The postings are illustrative, written for the demo (not real advertisements): each is put
together from sentences a data-job advertisement typically contains, by a seeded random draw
whose odds change over the year, so the demand-trends page has something to show (cloud and
big-data skills rise, spreadsheet work falls). Their skills are then read by the real linker,
exactly as pasted postings are.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy.orm import Session

from microcred.catalog import framework
from microcred.catalog import service as catalog
from microcred.catalog.models import Achievement
from microcred.catalog.schemas import AchievementIn, AlignmentIn
from microcred.kit.principal import SYSTEM, Principal
from microcred.kit.settings import Settings
from microcred.learning import service as learning

SKILL = "http://data.europa.eu/esco/skill/"
OCCUPATION = "http://data.europa.eu/esco/occupation/"
DATA_ANALYST = OCCUPATION + "d3edb8f8-3a06-47a0-8fb9-9b212c006aa2"
DATABASE_ADMINISTRATOR = OCCUPATION + "8c57af09-719c-42b3-be40-6ed4946236cc"
DATA_SCIENTIST = OCCUPATION + "258e46f9-0075-4a2e-adae-1ff0477e0f30"

ALLIANCE = "Regional Data Skills Alliance (demo)"
FORUM = "Demo Analytics Employers' Forum"

# slug, name, description, hours, cost (EUR), delivery, endorsements, skills, prerequisites
CATALOGUE: list[tuple[str, str, str, int, int, str, list[str], list[str], list[str]]] = [
    (
        "statistics-for-analysts",
        "Statistics for Analysts",
        "Describes data, estimates and tests hypotheses, and fits and checks regression models.",
        20,
        180,
        "self-paced",
        [ALLIANCE],
        [
            "7ee4c2ea-b349-4bd2-81a3-ec31475d4833",  # statistics
            "382c11ed-20d5-4ae7-b60e-15fec527fa6c",  # apply statistical analysis techniques
            "31c69100-b612-4a61-8db5-fd314318854c",  # execute analytical mathematical calculations
            "4a193795-fa63-414e-9f2e-bfdb3924571e",  # handle data samples
        ],
        [],
    ),
    (
        "data-cleaning-and-quality",
        "Data Cleaning and Quality",
        "Finds and fixes errors, gaps and duplicates, and sets and monitors data quality rules.",
        12,
        120,
        "self-paced",
        [],
        [
            "50b100ea-74fd-4706-99db-3e4ca55e51b8",  # perform data cleansing
            "cc7370dd-69fa-4c67-a96f-d4d135d38700",  # data quality assessment
            "54c9c155-9293-4329-8ed2-2e76e8b519d4",  # define data quality criteria
            "713fb616-118e-40bc-9366-4a69879a49d5",  # implement data quality processes
            "07889c08-7220-47c8-96f7-6068fbea00dc",  # normalise data
        ],
        ["python-data-analysis"],
    ),
    (
        "data-visualisation",
        "Data Visualisation and Storytelling",
        "Chooses the right chart, designs clear dashboards and tells the story the data supports.",
        14,
        150,
        "blended",
        [FORUM],
        [
            "348b74cd-49ce-4844-8bdf-ec188b497213",  # visual presentation techniques
            "1e77e42a-181f-4b48-8e74-201ce50ffc29",  # interpret current data
        ],
        [],
    ),
    (
        "business-intelligence",
        "Business Intelligence Reporting",
        "Builds governed BI reports and self-service dashboards on a structured data model.",
        18,
        220,
        "scheduled",
        [FORUM, ALLIANCE],
        [
            "143769cb-b61e-47d8-a61e-eedfbec1016c",  # business intelligence
            "03ff0d53-573a-47a0-a0ad-1995815a4339",  # information structure
            "93aaf65c-5aad-4e6f-a7ba-ce9bf7c0e6e6",  # information categorisation
        ],
        ["sql-foundations"],
    ),
    (
        "data-modelling",
        "Data Modelling for Analytics",
        "Designs relational and dimensional models and uses databases to serve analyses.",
        16,
        160,
        "self-paced",
        [],
        [
            "fecf8a0d-62c4-4e71-9b03-0f4fc2ad7bf5",  # data models
            "fbafa41f-cd05-4109-a649-8b44d306d779",  # create data models
            "6c08403c-a5bb-4868-b8c2-b7d039c0e511",  # design database scheme
            "4463a721-69f3-413d-8321-43e3af13a4f1",  # use databases
        ],
        ["sql-foundations"],
    ),
    (
        "data-pipelines",
        "Data Pipelines and Integration",
        "Collects, extracts and integrates data from several systems into reliable pipelines.",
        22,
        240,
        "blended",
        [ALLIANCE],
        [
            "2daec0e6-f0c1-43e8-8178-aedba99130ec",  # establish data processes
            "46ec0033-3c71-415e-bcff-b065675ba2dc",  # integrate ICT data
            "79e29b8b-47d1-470d-b7b1-32506bfe7d9a",  # collect ICT data
            "9ff9db9d-d14b-426e-83f3-e7449af6c79f",  # manage data
            "696e3b5b-8b61-45af-ae4c-3ab700f197ec",  # information extraction
            "1b70a55d-b8a4-49fc-96c6-15ab4cff2522",  # use data processing techniques
        ],
        ["python-data-analysis", "sql-foundations"],
    ),
    (
        "big-data-analytics",
        "Big Data Analytics",
        "Analyses large and unstructured data sets with distributed tools.",
        28,
        300,
        "scheduled",
        [FORUM],
        [
            "47a49cd6-097d-457a-9f7b-c290c14930d5",  # analyse big data
            "c5e8abde-d2ba-4e8e-a65e-720b71180666",  # unstructured data
            "897b393f-e7e0-4248-a40d-d77119694e83",  # distributed computing
        ],
        ["data-pipelines"],
    ),
    (
        "data-protection-for-analysts",
        "Data Protection for Analysts",
        "Keeps personal and confidential data safe and lawful in everyday analysis work.",
        6,
        60,
        "self-paced",
        [],
        [
            "a56dec32-05ef-45de-a256-ee6741f356db",  # information confidentiality
            "ec85cc63-4e24-4631-bf92-8789db2605c0",  # maintain database security
        ],
        [],
    ),
    (
        "database-administration",
        "Database Administration Essentials",
        "Runs a relational database: backups, performance, security and day-to-day operation.",
        26,
        260,
        "scheduled",
        [ALLIANCE],
        [
            "29fb0fb5-dfc4-4098-ac9b-3a712000f48f",  # manage database
            "7369f779-4b71-4aab-8836-48b69c676eec",  # operate relational database management system
            "cf3e976d-2c3e-495c-a874-f9e8a66d3b48",  # perform backups
            "d6cdef49-b669-4507-91d1-3f959cf98e47",  # maintain database performance
            "ab1e97ed-2319-4293-a8b7-072d2648822f",  # database management systems
        ],
        ["sql-foundations"],
    ),
]

BASE_PREREQUISITES = {"data-mining-essentials": ["python-data-analysis"]}

# Sentences of a data-job advertisement, by theme, each with its odds at the start and at the
# end of the demo year (linear in between).
THEMES: dict[str, tuple[float, float, list[str]]] = {
    "sql": (
        0.85,
        0.8,
        [
            "Write efficient SQL queries to extract and join data from relational databases.",
            "Strong SQL skills, including joins, aggregation and window functions.",
        ],
    ),
    "statistics": (
        0.6,
        0.6,
        [
            "Apply statistical analysis techniques such as regression and hypothesis testing.",
            "A solid grounding in statistics and analytical mathematics.",
        ],
    ),
    "visualisation": (
        0.55,
        0.6,
        [
            "Present findings with clear visual presentations and dashboards.",
            "Interpret current data and explain trends to the business.",
        ],
    ),
    "cleansing": (
        0.45,
        0.55,
        [
            "Perform data cleansing and check data quality before every analysis.",
            "Define data quality criteria and fix errors in messy data sets.",
        ],
    ),
    "bi": (
        0.35,
        0.6,
        [
            "Build business intelligence reports in Power BI or Tableau.",
            "Maintain our business intelligence platform and self-service reports.",
        ],
    ),
    "big_data": (
        0.1,
        0.55,
        [
            "Analyse big data with Spark on our cloud platform.",
            "Experience with distributed computing and large unstructured data.",
        ],
    ),
    "pipelines": (
        0.25,
        0.5,
        [
            "Integrate ICT data from several systems into reliable data pipelines.",
            "Establish data processes for collecting and loading data every day.",
        ],
    ),
    "privacy": (
        0.2,
        0.5,
        [
            "Handle confidential information in line with data protection rules.",
            "Keep information confidential and follow our data security policies.",
        ],
    ),
    "spreadsheets": (
        0.7,
        0.2,
        [
            "Advanced use of spreadsheet software, including pivot tables and macros.",
            "Maintain the weekly reporting spreadsheets for the sales team.",
        ],
    ),
    "python": (
        0.4,
        0.7,
        [
            "Use Python and pandas to automate recurring analyses.",
            "Programming in Python or R for data analysis.",
        ],
    ),
    "modelling": (
        0.3,
        0.35,
        [
            "Design data models and database schemas for reporting.",
            "Use databases and data models to serve analytics teams.",
        ],
    ),
    "dba": (
        0.15,
        0.15,
        [
            "Perform regular database backups and restore tests.",
            "Tune database performance and manage database resources.",
        ],
    ),
}
ROLES = [
    ("Data Analyst", DATA_ANALYST, 0.6),
    ("Database Administrator", DATABASE_ADMINISTRATOR, 0.15),
    ("Data Scientist", DATA_SCIENTIST, 0.25),
]
OPENINGS = [
    "We are a growing logistics company and are looking for a {role} to join our team.",
    "Our public health agency is hiring a {role} for its analytics unit.",
    "Join our retail bank as a {role} in the customer insights team.",
    "A university hospital seeks a {role} to support clinical operations.",
]
CLOSINGS = [
    "Communicate results clearly to non-technical colleagues.",
    "You work closely with product managers and engineers.",
    "Hybrid working, training budget and flexible hours.",
]
POSTINGS = 72
MONTHS = 12


def demo_postings(today: dt.date, *, seed: int = 7) -> list[learning.PostingIn]:
    """A year of illustrative postings (see the module docstring), oldest first."""
    rng = random.Random(seed)  # noqa: S311 - demo content, not security
    out: list[learning.PostingIn] = []
    for i in range(POSTINGS):
        age = (MONTHS * 30) * (1 - i / POSTINGS)  # days ago, spread evenly over the year
        progress = i / (POSTINGS - 1)
        posted_on = today - dt.timedelta(days=int(age))
        role, occupation, _ = rng.choices(ROLES, weights=[r[2] for r in ROLES])[0]
        lines = [rng.choice(OPENINGS).format(role=role), "", "What you will do:"]
        for start, end, sentences in THEMES.values():
            if rng.random() < start + (end - start) * progress:
                lines.append("- " + rng.choice(sentences))
        lines += ["", rng.choice(CLOSINGS)]
        out.append(
            learning.PostingIn(
                title=f"{role} ({i + 1:02d})",
                body="\n".join(lines),
                posted_on=posted_on,
                occupation_uri=occupation,
                location=rng.choice(["Berlin", "Lyon", "Remote", "Vienna", "Milan"]),
            )
        )
    return out


def seed_skills(
    session: Session,
    *,
    settings: Settings,
    actor: Principal,
    achievements: list[Achievement],
    today: dt.date | None = None,
) -> list[Achievement]:
    """Import the framework, extend the catalogue, set prerequisites, ingest the postings."""
    framework.load_bundled_framework(session, actor=SYSTEM)
    institution_id = actor.tenant
    by_slug = {a.slug: a for a in achievements}
    created: list[Achievement] = []
    for slug, name, description, hours, cost, delivery, endorsed, skills, needs in CATALOGUE:
        achievement = catalog.create_achievement(
            session,
            actor=actor,
            institution_id=institution_id,
            data=AchievementIn(
                slug=slug,
                name=name,
                description=description,
                criteria_narrative="Completed the course work and passed its assessment.",
                hours=Decimal(hours),
                cost=Decimal(cost),
                currency="EUR",
                delivery=delivery,
                endorsements=endorsed,
                alignments=[AlignmentIn(target_url=SKILL + uri) for uri in skills],
                prerequisites=[by_slug[n].id for n in needs],
            ),
        )
        by_slug[slug] = achievement
        created.append(achievement)
    for slug, needs in BASE_PREREQUISITES.items():
        catalog.set_prerequisites(
            session,
            actor=actor,
            institution_id=institution_id,
            achievement_id=by_slug[slug].id,
            prerequisite_ids=[by_slug[n].id for n in needs],
        )
    for item in demo_postings(today or dt.date.today()):
        learning.ingest_posting(
            session, settings=settings, actor=actor, item=item, source="demo", today=today
        )
    return created
