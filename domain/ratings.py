"""好差评: the five levels of the national service-rating scheme (国办发〔2019〕51号)."""

from __future__ import annotations

from enum import StrEnum


class RatingLevel(StrEnum):
    very_satisfied = "very_satisfied"
    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    dissatisfied = "dissatisfied"
    very_dissatisfied = "very_dissatisfied"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def bad(self) -> bool:
        """A bad review (差评): every named one is followed up."""
        return self in (RatingLevel.dissatisfied, RatingLevel.very_dissatisfied)


_LABELS = {
    RatingLevel.very_satisfied: "非常满意",
    RatingLevel.satisfied: "满意",
    RatingLevel.basically_satisfied: "基本满意",
    RatingLevel.dissatisfied: "不满意",
    RatingLevel.very_dissatisfied: "非常不满意",
}
BAD_RATINGS = tuple(level for level in RatingLevel if level.bad)
