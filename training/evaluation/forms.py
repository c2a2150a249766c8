"""An evaluation form built from the version of the questions the person is answering.

The form only reads what was posted: which answers are required and which values are
allowed is decided once, by `services.save`, whose errors are shown against these fields.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextArea
from wtforms import Field, RadioField, SelectChoice, TextAreaField

from .models import OutcomeMet, QuestionKind, QuestionSet
from .questions import NO, OUTCOME_LABELS, OVERALL_LABELS, RATING_VALUES, YES, YES_NO_LABELS, rating_hint
from .services import outcome_field

#: The value of the button that submits (any other saves a draft).
SUBMIT = "submit"
SAVE = "save"


@dataclass
class FormQuestion:
    """A question as laid out on the page: its fields (one per learning outcome for outcomes)."""

    key: str
    kind: QuestionKind
    text: str
    fields: list[Field]

    @property
    def is_outcomes(self) -> bool:
        return self.kind == QuestionKind.OUTCOMES


class EvaluationForm(FlaskForm):
    """The base class: `evaluation_form` adds one field per question (per outcome for outcomes)."""

    layout: list[tuple[str, QuestionKind, str, list[str]]] = []

    @property
    def questions(self) -> list[FormQuestion]:
        return [FormQuestion(key, kind, text, [self[name] for name in names])
                for key, kind, text, names in self.layout]

    def answers(self) -> dict[str, object]:
        """What was posted, by question key; outcomes as {outcome number: choice}."""
        answers: dict[str, object] = {}
        for key, kind, _text, names in self.layout:
            if kind == QuestionKind.OUTCOMES:
                answers[key] = {i: self[name].data for i, name in enumerate(names, 1) if self[name].data}
            else:
                answers[key] = self[names[0]].data
        return answers

    def add_errors(self, errors: dict[str, str]) -> None:
        """Show the service's errors against their fields (unknown names on the first field)."""
        for name, message in errors.items():
            field = self._fields.get(name)
            if field is None or name == "csrf_token":
                field = next(f for f in self if f.name != "csrf_token")
            field.errors = list(field.errors) + [message]


def _legend(text: str, size: str = "s") -> dict:
    return {"fieldset": {"legend": {"text": text, "classes": f"govuk-fieldset__legend--{size}"}}}


def _radios(label: str, choices: list[tuple[str, str]], hint: str | None = None, inline: bool = False,
            legend_size: str = "s") -> RadioField:
    params = _legend(label, legend_size)
    if inline:
        params["classes"] = "govuk-radios--inline"
    if not hint:
        params["hint"] = None
    return RadioField(label, choices=[SelectChoice(value, text) for value, text in choices], description=hint or "", validate_choice=False,
                      widget=GovRadioInput(), render_kw={"params": params})


def _textarea(label: str, hint: str | None) -> TextAreaField:
    params = {"label": {"text": label, "classes": "govuk-label--s"}, "rows": 4}
    return TextAreaField(label, description=hint or "", widget=GovTextArea(), render_kw={"params": params})


def evaluation_form(question_set: QuestionSet, outcomes: list[str], data: dict[str, str] | None = None,
                    **kwargs) -> EvaluationForm:
    """A form for `question_set`, with a radio group per learning outcome in `outcomes`.

    `data` gives the starting values (a saved draft); posted data, when there is some, wins.
    """
    attrs: dict[str, object] = {}
    layout: list[tuple[str, QuestionKind, str, list[str]]] = []
    for q in question_set.questions:
        if q.kind == QuestionKind.OUTCOMES:
            names = []
            for index, outcome in enumerate(outcomes, 1):
                name = outcome_field(index)
                attrs[name] = _radios(outcome, [(o.value, OUTCOME_LABELS[o.value]) for o in OutcomeMet],
                                      inline=True)
                names.append(name)
            if names:
                layout.append((q.key, q.kind, q.text, names))
            continue
        if q.kind == QuestionKind.RATING:
            hint = " ".join(filter(None, [q.hint, rating_hint(q.low_label, q.high_label)]))
            field = _radios(q.text, [(str(v), str(v)) for v in RATING_VALUES], hint=hint, inline=True)
        elif q.kind == QuestionKind.OVERALL:
            field = _radios(q.text, list(OVERALL_LABELS.items()), hint=q.hint)
        elif q.kind == QuestionKind.YES_NO:
            field = _radios(q.text, [(YES, YES_NO_LABELS[YES]), (NO, YES_NO_LABELS[NO])], hint=q.hint, inline=True)
        else:
            field = _textarea(q.text, q.hint)
        attrs[q.key] = field
        layout.append((q.key, q.kind, q.text, [q.key]))
    attrs["layout"] = layout
    form_class = type("DynamicEvaluationForm", (EvaluationForm,), attrs)
    return form_class(data=data or {}, **kwargs)
