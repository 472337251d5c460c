"""Item banks of the demo's two assessed achievements.

Numeric items draw their values per learner; `difficulty` is the author's rating (1-5) used
before calibration. Written for the demo by the microcred team.
"""

from __future__ import annotations

from typing import Any


def numeric(
    stem: str,
    formula: str,
    difficulty: int,
    unit: str | None = None,
    tolerance: str = "0.001",
    relative: bool = False,
    **ranges: tuple[float, float, float],
) -> dict[str, Any]:
    return {
        "kind": "numeric",
        "stem": stem,
        "formula": formula,
        "author_difficulty": difficulty,
        "variables": [
            {"name": n, "low": lo, "high": hi, "step": st} for n, (lo, hi, st) in ranges.items()
        ],
        "tolerance": tolerance,
        "tolerance_kind": "relative" if relative else "absolute",
        "unit": unit,
    }


def short_text(
    stem: str,
    criteria: list[tuple[str, int, str, list[str], list[str]]],
    credit: int,
    model_answer: str,
    difficulty: int,
) -> dict[str, Any]:
    """A free-text item graded against a rubric: (id, points, what to look for, accepted
    phrasings, misconceptions) per criterion."""
    return {
        "kind": "short_text",
        "stem": stem,
        "author_difficulty": difficulty,
        "rubric": {
            "criteria": [
                {
                    "id": cid,
                    "points": points,
                    "description": description,
                    "concepts": concepts,
                    "misconceptions": wrong,
                }
                for cid, points, description, concepts, wrong in criteria
            ],
            "credit": credit,
        },
        "model_answer": model_answer,
    }


def choice(stem: str, options: list[str], right: list[int], difficulty: int) -> dict[str, Any]:
    ids = "abcdefgh"
    return {
        "kind": "single_choice" if len(right) == 1 else "multiple_choice",
        "stem": stem,
        "author_difficulty": difficulty,
        "choices": [{"id": ids[i], "text": text} for i, text in enumerate(options)],
        "key": [ids[i] for i in right],
    }


PYTHON = [
    numeric(
        "How many elements does list(range({a}, {b})) contain?",
        "b - a",
        1,
        a=(0, 10, 1),
        b=(20, 60, 1),
    ),
    numeric(
        "A pandas DataFrame has {r} rows and {c} columns. What does df.size return?",
        "r * c",
        2,
        r=(50, 900, 10),
        c=(3, 12, 1),
    ),
    numeric(
        "df has {r} rows. How many rows does df.head({n}) return?",
        "n",
        1,
        r=(100, 500, 1),
        n=(3, 15, 1),
    ),
    numeric(
        "A Series holds the whole numbers 1 to {n}. What is s.mean()?",
        "(n + 1) / 2",
        2,
        n=(5, 99, 1),
    ),
    numeric(
        "A Series holds the whole numbers 1 to {n}. What is s.sum()?",
        "n * (n + 1) / 2",
        3,
        n=(10, 200, 1),
    ),
    numeric(
        "{n} rows are split 80/20 into training and test sets. How many test rows?",
        "n * 0.2",
        2,
        n=(100, 5000, 5),
    ),
    numeric("Evaluate {a} % {b} in Python.", "a % b", 2, a=(20, 99, 1), b=(3, 9, 1)),
    numeric(
        "What is the last element of [x * {m} for x in range({n})]?",
        "(n - 1) * m",
        3,
        m=(2, 9, 1),
        n=(5, 30, 1),
    ),
    numeric(
        "What is sum(x for x in range({n}) if x % 2 == 0)? ({n} is even.)",
        "(n / 2) * (n / 2 - 1)",
        4,
        n=(10, 60, 2),
    ),
    numeric(
        "df has {r} rows; {m} have a missing price. How many rows remain after "
        "df.dropna(subset=['price'])?",
        "r - m",
        2,
        r=(200, 900, 1),
        m=(5, 80, 1),
    ),
    numeric(
        "pd.concat joins DataFrames of {r1} and {r2} rows with the same columns. How many "
        "rows does the result have?",
        "r1 + r2",
        1,
        r1=(10, 400, 1),
        r2=(10, 400, 1),
    ),
    numeric(
        "An inner merge on a key that is unique on both sides: the left has {l} rows, the "
        "right {r} rows, and {k} keys appear on both. How many rows does it give?",
        "k",
        4,
        l=(300, 500, 1),
        r=(300, 500, 1),
        k=(50, 250, 1),
    ),
    numeric(
        "A left merge on a key unique on both sides: the left has {l} rows and {k} of its "
        "keys are found on the right. How many rows does it give?",
        "l",
        4,
        l=(100, 400, 1),
        k=(10, 90, 1),
    ),
    numeric(
        "Sales went from {a} to {b}. What is the percentage change?",
        "(b - a) / a * 100",
        3,
        unit="%",
        tolerance="0.01",
        a=(100, 400, 1),
        b=(120, 800, 1),
    ),
    numeric(
        "What is the median of the whole numbers 1 to {n}? ({n} is odd.)",
        "(n + 1) / 2",
        3,
        n=(5, 99, 2),
    ),
    choice(
        "Which pandas method returns the first rows of a DataFrame?",
        ["df.head()", "df.tail()", "df.sample()", "df.describe()"],
        [0],
        1,
    ),
    choice(
        "Which method drops rows that have missing values?",
        ["df.dropna()", "df.fillna()", "df.isna()", "df.drop_duplicates()"],
        [0],
        2,
    ),
    choice(
        "How do df.loc and df.iloc differ?",
        [
            "loc selects by label, iloc by integer position",
            "loc selects by position, iloc by label",
            "loc works on rows only, iloc on columns only",
            "there is no difference since pandas 2.0",
        ],
        [0],
        4,
    ),
    choice(
        "Which chart best shows the distribution of one numeric variable?",
        ["A histogram", "A pie chart", "A line chart over time", "A stacked bar chart"],
        [0],
        2,
    ),
    choice(
        "What does df.groupby('team')['score'].transform('mean') return?",
        [
            "A Series as long as df, each row holding its team's mean score",
            "One row per team with the mean score",
            "The overall mean score",
            "A DataFrame sorted by team",
        ],
        [0],
        5,
    ),
    choice("Which of these Python types are mutable?", ["list", "dict", "tuple", "str"], [0, 1], 3),
    choice("What is the type of {} in Python?", ["dict", "set", "list", "tuple"], [0], 3),
]

SQL = [
    numeric(
        "A table has {r} rows. How many rows does SELECT * FROM t LIMIT {n} return?",
        "n",
        1,
        r=(100, 900, 1),
        n=(5, 50, 1),
    ),
    numeric(
        "A table has {r} rows. How many rows does ... LIMIT {n} OFFSET {o} return?",
        "n",
        2,
        r=(500, 900, 1),
        n=(10, 50, 1),
        o=(20, 300, 1),
    ),
    numeric(
        "SELECT COUNT(*) FROM a CROSS JOIN b, where a has {x} rows and b has {y}?",
        "x * y",
        3,
        x=(3, 40, 1),
        y=(3, 40, 1),
    ),
    numeric(
        "An INNER JOIN on a key unique in both tables: {k} of the left table's {l} rows "
        "find a match. How many rows does it return?",
        "k",
        3,
        l=(200, 400, 1),
        k=(20, 150, 1),
    ),
    numeric(
        "A LEFT JOIN on a key unique in both tables: the left table has {l} rows and {k} "
        "of them match. How many rows does it return?",
        "l",
        4,
        l=(100, 400, 1),
        k=(5, 90, 1),
    ),
    numeric(
        "How many rows does SELECT ... UNION ALL SELECT ... return for results of {x} and "
        "{y} rows?",
        "x + y",
        2,
        x=(5, 300, 1),
        y=(5, 300, 1),
    ),
    numeric(
        "The column city holds {k} distinct non-NULL values and {n} NULLs. How many groups "
        "does GROUP BY city produce?",
        "k + 1",
        5,
        k=(3, 40, 1),
        n=(1, 20, 1),
    ),
    numeric(
        "A table has {r} rows and the column email is NULL in {n} of them. What does "
        "COUNT(email) return?",
        "r - n",
        4,
        r=(100, 900, 1),
        n=(1, 99, 1),
    ),
    numeric(
        "What is SUM(qty) over three rows with qty {a}, {b} and {c}?",
        "a + b + c",
        1,
        a=(1, 50, 1),
        b=(1, 50, 1),
        c=(1, 50, 1),
    ),
    numeric(
        "A table has {r} rows and a WHERE clause matches {m} of them. How many rows are "
        "left after DELETE ... WHERE that clause?",
        "r - m",
        1,
        r=(100, 900, 1),
        m=(1, 99, 1),
    ),
    numeric(
        "What is the highest value of ROW_NUMBER() OVER (ORDER BY id) over {r} rows?",
        "r",
        3,
        r=(10, 500, 1),
    ),
    numeric(
        "What is AVG(score) over two rows with scores {a} and {b}?",
        "(a + b) / 2",
        2,
        a=(10, 90, 1),
        b=(10, 90, 1),
    ),
    numeric(
        "A table has {r} rows with no duplicates on (a, b). How many rows does SELECT DISTINCT "
        "a, b return?",
        "r",
        3,
        r=(10, 900, 1),
    ),
    choice(
        "Which clause filters groups after aggregation?",
        ["HAVING", "WHERE", "ORDER BY", "LIMIT"],
        [0],
        2,
    ),
    choice(
        "Which join keeps every row of the left table?",
        ["LEFT JOIN", "INNER JOIN", "CROSS JOIN", "RIGHT JOIN"],
        [0],
        2,
    ),
    choice(
        "What is the result of NULL = NULL in SQL?",
        ["NULL (unknown), so a WHERE clause does not keep the row", "TRUE", "FALSE", "an error"],
        [0],
        4,
    ),
    choice(
        "Which keyword removes duplicate rows from a result?",
        ["DISTINCT", "UNIQUE", "GROUP", "FILTER"],
        [0],
        1,
    ),
    choice(
        "What does a window function do that GROUP BY does not?",
        [
            "It computes over related rows while keeping every row in the result",
            "It sorts the result",
            "It removes NULLs",
            "It creates an index",
        ],
        [0],
        4,
    ),
    choice(
        "Which of these are aggregate functions?", ["COUNT", "SUM", "UPPER", "COALESCE"], [0, 1], 2
    ),
    choice(
        "Which statement belongs to the data definition language (DDL)?",
        ["CREATE TABLE", "SELECT", "UPDATE", "INSERT"],
        [0],
        3,
    ),
    choice(
        "In SELECT name, salary FROM staff ORDER BY 2, what does 2 refer to?",
        [
            "The second column of the select list (salary)",
            "The second row",
            "The value 2",
            "The second table",
        ],
        [0],
        5,
    ),
    short_text(
        "In one or two sentences: what does a LEFT JOIN return that an INNER JOIN does not?",
        [
            (
                "left-rows",
                2,
                "keeps every row of the left table",
                [
                    "keeps all rows of the left table",
                    "every row from the left table",
                    "all rows from the left table",
                    "left rows without a match",
                ],
                ["only matching rows"],
            ),
            (
                "nulls",
                1,
                "the right table's columns are NULL where nothing matches",
                [
                    "null for the right columns",
                    "fills with null",
                    "columns are null",
                    "null values",
                ],
                [],
            ),
        ],
        2,
        "A LEFT JOIN keeps all rows of the left table, including those without a match; for "
        "them the right table's columns are NULL.",
        2,
    ),
    short_text(
        "Why does SELECT dept, COUNT(*) FROM staff fail in standard SQL, and how do you fix it?",
        [
            (
                "grouping",
                2,
                "a non-aggregated column must be in GROUP BY",
                [
                    "dept is not in group by",
                    "dept must appear in group by",
                    "column not in the group by",
                    "add group by dept",
                ],
                [],
            ),
            (
                "fix",
                1,
                "adds GROUP BY dept",
                ["group by dept", "add a group by"],
                ["remove count"],
            ),
        ],
        2,
        "dept is not in GROUP BY while COUNT aggregates the rows, so add GROUP BY dept.",
        3,
    ),
    short_text(
        "When would you use a window function instead of GROUP BY? Give the key difference.",
        [
            (
                "rows-kept",
                2,
                "a window function keeps every row while computing over a set of rows",
                [
                    "keeps every row",
                    "keeps all rows",
                    "rows are not collapsed",
                    "without collapsing rows",
                    "one result per row",
                ],
                ["collapses the rows"],
            ),
            (
                "example",
                1,
                "a fitting example such as a running total or a rank within a group",
                [
                    "running total",
                    "rank within",
                    "moving average",
                    "row number",
                    "compare each row",
                ],
                [],
            ),
        ],
        2,
        "A window function keeps every row while it computes over a set of rows, so you can "
        "show a running total or a rank within each group next to the detail.",
        4,
    ),
]
