"""Version 1 of the London-model question sets, as data.

The question keys are a contract: results are computed by key (for example `knowledge`
before and after, or the share of `overall` answers that are Satisfactory or Poor), so a
key keeps its meaning in every version. A changed question is a new version of its set
(see `services.new_question_set_version`); answers keep pointing at the version they
answered.
"""
from __future__ import annotations

from dataclasses import dataclass

from .models import OutcomeMet, OverallRating, QuestionKind, Stage


@dataclass(frozen=True)
class QuestionDefinition:
    """One question as it is defined before it is stored as a Question row."""

    key: str
    kind: QuestionKind
    text: str
    hint: str | None = None
    required: bool = True
    low_label: str | None = None  # ratings: what 1 means
    high_label: str | None = None  # ratings: what 5 means


_R, _O, _OUT, _YN, _T = (QuestionKind.RATING, QuestionKind.OVERALL, QuestionKind.OUTCOMES,
                         QuestionKind.YES_NO, QuestionKind.TEXT)

_KNOWLEDGE_LOW, _KNOWLEDGE_HIGH = "no knowledge", "expert"
_CONFIDENCE_LOW, _CONFIDENCE_HIGH = "not at all confident", "very confident"
_QUALITY_LOW, _QUALITY_HIGH = "very poor", "excellent"

#: Version 1 of each stage's questions, in the order they are asked.
DEFAULT_QUESTIONS: dict[Stage, tuple[QuestionDefinition, ...]] = {
    Stage.BEFORE: (
        QuestionDefinition("knowledge", _R, "How would you rate your knowledge of this subject?",
                           low_label=_KNOWLEDGE_LOW, high_label=_KNOWLEDGE_HIGH),
        QuestionDefinition("confidence", _R, "How confident do you feel to act on concerns about this subject?",
                           low_label=_CONFIDENCE_LOW, high_label=_CONFIDENCE_HIGH),
        QuestionDefinition("learning_needs", _T, "What do you want to learn from this course?",
                           hint="For example, situations in your work you would like to feel better prepared for"),
    ),
    Stage.AFTER: (
        QuestionDefinition("knowledge", _R, "How would you rate your knowledge of this subject now?",
                           low_label=_KNOWLEDGE_LOW, high_label=_KNOWLEDGE_HIGH),
        QuestionDefinition("confidence", _R, "How confident do you feel now to act on concerns about this subject?",
                           low_label=_CONFIDENCE_LOW, high_label=_CONFIDENCE_HIGH),
        QuestionDefinition("outcomes", _OUT, "Were the course's learning outcomes met?"),
        QuestionDefinition("trainer", _R, "How would you rate the trainer?",
                           low_label=_QUALITY_LOW, high_label=_QUALITY_HIGH),
        QuestionDefinition("materials", _R, "How would you rate the course materials?",
                           low_label=_QUALITY_LOW, high_label=_QUALITY_HIGH),
        QuestionDefinition("venue", _R, "How would you rate the venue or the online delivery?",
                           low_label=_QUALITY_LOW, high_label=_QUALITY_HIGH),
        QuestionDefinition("overall", _O, "Overall, how would you rate this course?"),
        QuestionDefinition("do_differently", _T, "What will you do differently in your practice after this course?"),
        QuestionDefinition("comments", _T, "Any other comments (optional)", required=False,
                           hint="Do not include the names of children, families or colleagues"),
    ),
    Stage.FOLLOW_UP: (
        QuestionDefinition("impact", _R, "How much has this course changed your practice?",
                           hint="Answer this with your line manager",
                           low_label="no change", high_label="a great deal"),
        QuestionDefinition("impact_example", _T, "Give an example of how your practice has changed",
                           hint="Do not include the names of children, families or colleagues"),
        QuestionDefinition("shared_with_team", _YN, "Have you shared what you learnt with your team?"),
        QuestionDefinition("manager_agrees", _YN, "Does your line manager agree with your answers?"),
        QuestionDefinition("manager_name", _T, "Your line manager's name"),
    ),
}

#: GOV.UK error messages for a required question left unanswered, by key. A key keeps its
#: meaning across versions, so its message does too; new keys fall back to a generic one.
MISSING_MESSAGES: dict[str, str] = {
    "knowledge": "Select how you would rate your knowledge of this subject",
    "confidence": "Select how confident you feel to act on concerns about this subject",
    "learning_needs": "Enter what you want to learn from this course",
    "outcomes": "Select whether this learning outcome was met",
    "trainer": "Select how you would rate the trainer",
    "materials": "Select how you would rate the course materials",
    "venue": "Select how you would rate the venue or the online delivery",
    "overall": "Select how you would rate this course overall",
    "do_differently": "Enter what you will do differently in your practice",
    "impact": "Select how much this course has changed your practice",
    "impact_example": "Enter an example of how your practice has changed",
    "shared_with_team": "Select yes if you have shared what you learnt with your team",
    "manager_agrees": "Select yes if your line manager agrees with your answers",
    "manager_name": "Enter your line manager's name",
}

RATING_VALUES = (1, 2, 3, 4, 5)
YES, NO = "yes", "no"
YES_NO_LABELS = {YES: "Yes", NO: "No"}
OVERALL_LABELS = {r.value: r.label for r in OverallRating}
OUTCOME_LABELS = {OutcomeMet.MET.value: "Met", OutcomeMet.PARTLY.value: "Partly met",
                  OutcomeMet.NOT_MET.value: "Not met"}
#: Longest free-text answer kept: generous for a paragraph or two, bounded for the database.
TEXT_MAX = 5000


def missing_message(key: str, kind: QuestionKind) -> str:
    """The error for a required question left unanswered."""
    if key in MISSING_MESSAGES:
        return MISSING_MESSAGES[key]
    return "Enter an answer to this question" if kind == QuestionKind.TEXT else "Select an answer to this question"


def rating_hint(low_label: str | None, high_label: str | None) -> str | None:
    """'1 means no knowledge, 5 means expert' for a rating's labelled ends."""
    if not (low_label and high_label):
        return None
    return f"1 means {low_label}, 5 means {high_label}"
