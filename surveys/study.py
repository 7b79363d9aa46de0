"""The national reference the survey pages compare the district with: the published figures
of the "Look Both Ways" study of leaders scaling innovation, as its source documents give
them. They are the study's figures, not the district's, and every page labels them so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StudyShares:
    """The study's published shares for one tension; None where it gave none."""

    left_pct: int | None = None  # leaning towards the left pole
    right_pct: int | None = None  # leaning towards the right pole
    resources_pct: int | None = None  # dedicated time and resources
    high_priority_pct: int | None = None  # rated a high priority

    @property
    def has_shares(self) -> bool:
        return self.left_pct is not None and self.right_pct is not None

    @property
    def other_pct(self) -> int | None:
        """Neither leaning left nor right (the study does not break this down)."""
        return (
            100 - self.left_pct - self.right_pct if self.left_pct is not None and self.right_pct is not None else None
        )


@dataclass(frozen=True)
class Study:
    name: str
    publisher: str
    leaders: int
    systems: int
    year: int
    source: str
    shares: dict[int, StudyShares]

    @property
    def label(self) -> str:
        return f"{self.name} study ({self.publisher}, {self.year}): {self.leaders} leaders from {self.systems} systems"

    @property
    def short_label(self) -> str:
        return f"Study ({self.year})"

    def for_tension(self, number: int) -> StudyShares | None:
        return self.shares.get(number)


# The study's figures, by tension number (1 = left pole, 5 = right pole, as in the survey).
# Source: "Seven Top Decisions For Leaders Scaling Innovation" (Avishai and Rabbitt, The
# Learning Accelerator, in Education Next; the page carries the year 2024 and gives no
# survey date) and "Problems of Practice: Share Best Practices vs. Share Process/Failures"
# ("a survey of 89 leaders from 60 systems"). Tensions 1, 3 and 4 have no published shares.
STUDY = Study(
    name="Look Both Ways",
    publisher="The Learning Accelerator",
    leaders=89,
    systems=60,
    year=2024,
    source=(
        "Avishai and Rabbitt, “Seven Top Decisions For Leaders Scaling Innovation”, Education Next (2024), "
        "and The Learning Accelerator, “Problems of Practice: Share Best Practices vs. Share Process/Failures”"
    ),
    shares={
        # "more deliberate (slow) implementation strategies (68%) over accelerated ones (16%)"
        2: StudyShares(left_pct=16, right_pct=68),
        # "adaptive strategies (67%) over fixed ones (14%)"
        5: StudyShares(left_pct=14, right_pct=67),
        # "more modular approaches (51%) over packaged ones (27%)"
        6: StudyShares(left_pct=27, right_pct=51),
        # "best practices" (53%) over challenges, failures and processes (12%); 81% had dedicated
        # time and resources; 28% rated it a high priority.
        7: StudyShares(left_pct=53, right_pct=12, resources_pct=81, high_priority_pct=28),
    },
)
