"""Open Badges 3.0 credentials for tests and benchmarks of the JSON-LD core.

`realistic_credential` is the shape microcred issues (VC 2.0 + OB 3.0.3 contexts, ESCO
alignments, results, evidence, a status entry, ~3-4 KB). `random_credential` draws a family of
valid variants from a seeded generator: optional ids, numbers and strings, nested objects
without ids (many blank nodes) and identical siblings (first-degree hash collisions), so
differential tests reach the N-degree canonicalization path.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from pyld import jsonld

from microcred.kit.jsonld.loader import pyld_document_loader

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CONTEXTS = [VC_V2, OB_V3P0, OB_EXTENSIONS]
ISSUER = "did:web:badges.example.edu"
VERIFICATION_METHOD = f"{ISSUER}#key-1"
ESCO = "http://data.europa.eu/esco/skill/"

_SKILLS = [
    ("use spreadsheets software", "1973c966-f236-40c9-b2d4-5d71a89019be"),
    ("Python (computer programming)", "ccd0a1d9-afda-43d9-b901-96344886e14d"),
    ("SQL", "598de5b0-5b58-4ea7-8058-a4bc4d18c742"),
    ("data analytics", "0cbc6b5b-6bc4-4f7c-8a6e-4e5b5c1cd56b"),
    ("statistics", "8f18f987-33e2-4228-9efb-65de25d03330"),
    ("visualise data", "b6a8a1ce-fd0f-4cfc-9a3d-6ad1bd5fd3d0"),
    ("manage databases", "6b4a1f0e-2d4b-45a5-b4dd-7c1f9b0a3d8e"),
    ("apply statistical analysis techniques", "4f8b4b2e-7f2c-4b3a-8f3a-8c4b0e6f2d11"),
    ("perform data cleansing", "a3f5a0b1-8e6d-4c7a-9b2e-1d3c5f7a9b0c"),
    ("communicate with stakeholders", "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"),
    ("think analytically", "d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f60"),
    ("write reports", "e3f4a5b6-c7d8-4e9f-0a1b-2c3d4e5f6071"),
]


def pyld_canonical(document: Any) -> str:
    """The reference: pyld's URDNA2015 (= RDFC-1.0) over the same bundled contexts."""
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": pyld_document_loader,
    }
    result: str = jsonld.normalize(copy.deepcopy(document), options)
    return result


def realistic_credential(
    *, alignments: int = 10, results: int = 10, evidence: int = 3, number: int = 1
) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential with `alignments` skills and `results` outcomes."""
    achievement_id = "https://badges.example.edu/achievements/data-analysis-101"
    descriptions = [
        {
            "id": f"{achievement_id}#result-{i}",
            "type": ["ResultDescription"],
            "name": f"Assessment {i + 1}: {_SKILLS[i % len(_SKILLS)][0]}",
            "resultType": "ScaledScore",
            "valueMin": "0",
            "valueMax": "100",
            "requiredValue": "60",
        }
        for i in range(results)
    ]
    return {
        "@context": list(CONTEXTS),
        "id": f"urn:uuid:0b6c9f8e-5f0e-4a51-9c1b-{number:012d}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Data Analysis Fundamentals",
        "issuer": {
            "id": ISSUER,
            "type": ["Profile"],
            "name": "Example University",
            "url": "https://www.example.edu",
            "email": "badges@example.edu",
        },
        "validFrom": "2026-03-01T09:30:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": "sha256$"
                    + "28d7e9c1a1b5e7f5f0d0d4c7b4e8a1f2c3d4e5f60718293a4b5c6d7e8f901234",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": "m1cr0cr3d",
                }
            ],
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "achievementType": "MicroCredential",
                "name": "Data Analysis Fundamentals",
                "description": "Cleans, analyses and visualises tabular data with SQL and Python.",
                "criteria": {
                    "narrative": "Pass every assessment with at least 60 of 100 points and "
                    "submit a capstone project reviewed by two assessors."
                },
                "image": {
                    "id": "https://badges.example.edu/achievements/data-analysis-101/image.png",
                    "type": "Image",
                    "caption": "Data Analysis Fundamentals badge",
                },
                "alignment": [_alignment(i) for i in range(alignments)],
                "resultDescription": descriptions,
            },
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": descriptions[i]["id"],
                    "value": str(60 + (i * 7) % 40),
                    "status": "Completed",
                }
                for i in range(results)
            ],
        },
        "evidence": [
            {
                "id": f"https://portfolio.example.org/learner/projects/{i}",
                "type": ["Evidence"],
                "name": f"Project {i + 1}",
                "narrative": "A reproducible analysis of open transport data, with notebooks.",
                "genre": "Project",
            }
            for i in range(evidence)
        ],
        "credentialStatus": {
            "id": "https://badges.example.edu/status/1#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://badges.example.edu/status/1",
        },
        "credentialSchema": [
            {
                "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
                "ob_v3p0_achievementcredential_schema.json",
                "type": "1EdTechJsonSchemaValidator2019",
            }
        ],
    }


def _alignment(i: int) -> dict[str, Any]:
    name, code = _SKILLS[i % len(_SKILLS)]
    return {
        "type": ["Alignment"],
        "targetName": name,
        "targetUrl": ESCO + code,
        "targetFramework": "ESCO",
        "targetCode": ESCO + code,
        "targetType": "ceasn:Competency",
    }


def random_credential(rng: random.Random) -> dict[str, Any]:
    """A valid variant of `realistic_credential`, drawn from `rng` (reproducible by seed)."""
    doc = realistic_credential(
        alignments=rng.randint(0, 8),
        results=rng.randint(1, 6),
        evidence=rng.randint(0, 4),
        number=rng.randint(0, 10**6),
    )
    subject = doc["credentialSubject"]
    achievement = subject["achievement"]
    if rng.random() < 0.5:
        subject["id"] = f"did:example:learner-{rng.randint(0, 999)}"
    if rng.random() < 0.3:
        del achievement["id"]  # the achievement becomes a blank node too
    if rng.random() < 0.4 and achievement["alignment"]:
        # identical siblings: blank nodes whose first-degree hashes collide
        twin = achievement["alignment"][0]
        achievement["alignment"].extend(copy.deepcopy(twin) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.3:
        subject["result"].append(copy.deepcopy(subject["result"][0]))
    for result in subject["result"]:
        if rng.random() < 0.3:
            result.pop("resultDescription", None)
        roll = rng.random()
        if roll < 0.2:
            result["value"] = rng.choice(["A+", "pass", 'quoted "x"', "tab\there", "ünïcødé ✓"])
    if rng.random() < 0.4:
        subject["creditsEarned"] = rng.choice([1, 2.5, 0.125, 3.0, 12])
    if rng.random() < 0.3:
        subject["activityStartDate"] = "2026-01-10"
    for item in doc["evidence"]:
        if rng.random() < 0.5:
            del item["id"]
        if rng.random() < 0.3:
            item["description"] = "line one\nline two"
    if rng.random() < 0.3 and doc["evidence"]:
        doc["evidence"].append(copy.deepcopy(doc["evidence"][-1]))
    if rng.random() < 0.3:
        achievement["resultDescription"][0]["allowedValue"] = ["A", "B", "C"][: rng.randint(0, 3)]
    if rng.random() < 0.3:
        achievement["tag"] = rng.sample(["data", "sql", "python", "stats"], k=rng.randint(1, 3))
    if rng.random() < 0.3:
        achievement["creator"] = {"type": ["Profile"], "name": "Faculty of Science"}
    if rng.random() < 0.3:
        del doc["credentialStatus"]
    if rng.random() < 0.2:
        doc["validUntil"] = "2031-03-01T09:30:00Z"
    return doc
