"""Building the practice form's POST data as a browser would send it."""

from typing import Any


def formset_data(prefix: str, rows: list[dict], initial: int = 0) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "30",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def practice_post(
    *,
    action: str = "publish",
    iterations: list[dict] | None = None,
    failures: list[dict] | None = None,
    **fields: str,
) -> dict[str, Any]:
    data = {
        "title": "Exit tickets",
        "summary": "Quick checks at the end of class.",
        "description": "Three questions on a half sheet.",
        "intent": "Catch misconceptions the same day.",
        "context": "",
        "depends_on": "",
        "core_elements": "",
        "adaptable_elements": "",
        "impact": "",
        "tags": "formative assessment, math",
        "visibility": "district",
        "action": action,
    }
    data.update(fields)
    data.update(formset_data("iterations", iterations or []))
    data.update(formset_data("failures", failures or []))
    return data


THREE_ITERATIONS = [
    {
        "when": "September",
        "tried": "Five questions, graded",
        "observed": "Too slow",
        "changed": "Cut to three",
        "ORDER": "1",
    },
    {"when": "October", "tried": "Two piles", "observed": "Hid the middle", "changed": "Three piles", "ORDER": "2"},
    {"when": "January", "tried": "Self-sorting", "observed": "70% agreement", "changed": "Kept my sort", "ORDER": "3"},
]
TWO_FAILURES = [
    {
        "tried": "Grading the tickets",
        "what_happened": "Copying",
        "why": "It felt high-stakes to zebrafish",
        "lesson": "Keep ungraded",
        "ORDER": "1",
    },
    {
        "tried": "Digital forms",
        "what_happened": "Logins ate the time",
        "why": "Device logistics",
        "lesson": "Paper first",
        "ORDER": "2",
    },
]
