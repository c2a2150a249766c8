"""Forms for signing in, registering, the account pages and the coordinators' pages."""
from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, ValidationError

from .models import Agency, Role, Sector
from .services import MAX_PASSWORD_LENGTH

EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _required(message: str) -> InputRequired:
    return InputRequired(message=message)


def _email_validators(missing: str, *, blank_is_missing: bool = False) -> list:
    # DataRequired looks at the stripped value, so "   " is missing rather than badly formatted.
    return [
        DataRequired(message=missing) if blank_is_missing else _required(missing),
        Length(max=254, message="Email address must be 254 characters or fewer"),
        Email(message=EMAIL_FORMAT, granular_message=False),
    ]


class _NotBlank:
    """InputRequired lets "   " through; stripped text must still say something."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(self.message)


def _text(label: str, missing: str, what: str, **kwargs) -> StringField:
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[_strip],
        validators=[_NotBlank(missing), Length(max=200, message=f"{what} must be 200 characters or fewer")],
        **kwargs,
    )


class _MinimumPasswordLength:
    """The minimum comes from configuration, read when the form is checked."""

    def __call__(self, form, field) -> None:
        minimum = current_app.config["MIN_PASSWORD_LENGTH"]
        if len(field.data or "") < minimum:
            raise ValidationError(f"Password must be {minimum} characters or more")
        if len(field.data) > MAX_PASSWORD_LENGTH:
            raise ValidationError(f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer")


class AgencyField(SelectField):
    """A choice of agency by id; anything not offered is refused with one plain message."""

    message = "Select your agency"

    def __init__(self, label: str = "Agency", **kwargs) -> None:
        super().__init__(label, widget=GovSelect(), validators=[_required(self.message)],
                         validate_choice=False, **kwargs)

    def set_agencies(self, agencies: list[Agency]) -> None:
        self.choices = [SelectChoice("", "Select your agency")] + [SelectChoice(str(a.id), a.name) for a in agencies]

    def pre_validate(self, form) -> None:
        if self.data not in {choice.value for choice in self.choices if choice.value}:
            raise ValidationError(self.message)

    @property
    def agency_id(self) -> int:
        return int(self.data)


class SignInForm(FlaskForm):
    """Email address and password."""

    email = StringField("Email address", widget=GovTextInput(), filters=[_strip],
                        validators=[_required("Enter your email address")])
    password = PasswordField("Password", widget=GovPasswordInput(),
                             validators=[_required("Enter your password")])
    submit = SubmitField("Sign in", widget=GovSubmitInput())


# Fields shared by registration and the profile page. Each call makes a new field, so each
# form lists its fields (and its error summary) in the order the class body gives them.

def _name_field() -> StringField:
    return _text("Full name", "Enter your full name", "Full name")


def _job_title_field() -> StringField:
    return _text("Job title", "Enter your job title", "Job title")


def _manager_name_field() -> StringField:
    return _text("Line manager's name", "Enter your line manager's name", "Line manager's name",
                 description="We may contact them about your training, for example if you do not attend")


def _manager_email_field() -> StringField:
    return StringField("Line manager's email address", widget=GovTextInput(), filters=[_strip],
                       validators=_email_validators("Enter your line manager's email address"))


def _consent_field() -> BooleanField:
    return BooleanField("Email me safeguarding updates from the partnership", widget=GovCheckboxInput(),
                        description="News about training, practice guidance and learning from reviews. "
                                    "You can change this at any time.")


class RegistrationForm(FlaskForm):
    """A new professional's account."""

    name = _name_field()
    email = StringField("Work email address", widget=GovTextInput(), filters=[_strip],
                        validators=_email_validators("Enter your work email address"))
    agency = AgencyField("Agency", description="The organisation you work for")
    job_title = _job_title_field()
    manager_name = _manager_name_field()
    manager_email = _manager_email_field()
    consent_updates = _consent_field()
    password = PasswordField("Create a password", widget=GovPasswordInput(),
                             validators=[_required("Enter a password"), _MinimumPasswordLength()])
    confirm_password = PasswordField(
        "Confirm password", widget=GovPasswordInput(),
        validators=[_required("Confirm your password"),
                    EqualTo("password", message="The passwords you entered do not match")],
    )
    submit = SubmitField("Create account", widget=GovSubmitInput())


class ProfileForm(FlaskForm):
    """Your details, without the email address (changing that needs verification)."""

    name = _name_field()
    agency = AgencyField("Agency", description="The organisation you work for")
    job_title = _job_title_field()
    manager_name = _manager_name_field()
    manager_email = _manager_email_field()
    consent_updates = _consent_field()
    submit = SubmitField("Save changes", widget=GovSubmitInput())


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    """A new password and its confirmation, with the rules for choosing one anywhere."""
    return (
        PasswordField("New password", widget=GovPasswordInput(),
                      validators=[_required("Enter a new password"), _MinimumPasswordLength()]),
        PasswordField("Confirm new password", widget=GovPasswordInput(),
                      validators=[_required("Confirm your new password"),
                                  EqualTo("new_password", message="The passwords you entered do not match")]),
    )


class ChangePasswordForm(FlaskForm):
    """Current password, then the new one twice."""

    current_password = PasswordField("Current password", widget=GovPasswordInput(),
                                     validators=[_required("Enter your current password")])
    new_password, confirm_password = _new_password_fields()
    submit = SubmitField("Change password", widget=GovSubmitInput())


class ForgottenPasswordForm(FlaskForm):
    """The email address to send a reset link to."""

    email = StringField("Email address", widget=GovTextInput(), filters=[_strip],
                        description="The email address you sign in with",
                        validators=_email_validators("Enter your email address", blank_is_missing=True))
    submit = SubmitField("Send reset link", widget=GovSubmitInput())


class ResetPasswordForm(FlaskForm):
    """The new password twice, with the same rules as choosing one anywhere else."""

    new_password, confirm_password = _new_password_fields()
    submit = SubmitField("Set new password", widget=GovSubmitInput())


class ChangeEmailForm(FlaskForm):
    """The new email address, and the password to show it is you asking."""

    new_email = StringField("New email address", widget=GovTextInput(), filters=[_strip],
                            validators=_email_validators("Enter your new email address", blank_is_missing=True))
    password = PasswordField("Your password", widget=GovPasswordInput(),
                             validators=[_required("Enter your password")])
    submit = SubmitField("Send confirmation link", widget=GovSubmitInput())


class ConfirmEmailChangeForm(FlaskForm):
    """A button only: following a link (GET) must not change anything."""

    submit = SubmitField("Confirm new email address", widget=GovSubmitInput())


class PeopleFilterForm(FlaskForm):
    """Search and filters for the people list (a GET form: nothing to protect)."""

    class Meta:
        csrf = False

    q = StringField("Name or email address", widget=GovTextInput(), filters=[_strip])
    agency = SelectField("Agency", widget=GovSelect(), validate_choice=False)
    role = SelectField("Role", widget=GovSelect(), validate_choice=False,
                       choices=[SelectChoice("", "Any role")] + [SelectChoice(r.value, r.label) for r in Role])
    submit = SubmitField("Search", widget=GovSubmitInput())

    def set_agencies(self, agencies: list[Agency]) -> None:
        self.agency.choices = [SelectChoice("", "Any agency")] + [SelectChoice(str(a.id), a.name) for a in agencies]

    @property
    def agency_id(self) -> int | None:
        value = self.agency.data or ""
        return int(value) if any(value == c.value for c in self.agency.choices if c.value) else None

    @property
    def role_value(self) -> Role | None:
        try:
            return Role(self.role.data) if self.role.data else None
        except ValueError:
            return None


class PersonRolesForm(FlaskForm):
    """The roles a person holds."""

    roles = SelectMultipleField("Roles", widget=GovCheckboxesInput(), validate_choice=False,
                                choices=[SelectChoice(r.value, r.label) for r in Role])
    submit = SubmitField("Save roles", widget=GovSubmitInput())

    def validate_roles(self, field) -> None:
        allowed = {r.value for r in Role}
        if any(value not in allowed for value in field.data or []):
            raise ValidationError("Select roles from the list")

    @property
    def selected_roles(self) -> set[Role]:
        return {Role(value) for value in self.roles.data or []}


class AgencyForm(FlaskForm):
    """An agency's name and sector."""

    name = _text("Agency name", "Enter the agency name", "Agency name")
    sector = SelectField(
        "Sector", widget=GovRadioInput(), validate_choice=False,
        choices=[SelectChoice(s.value, s.label) for s in Sector],
        validators=[_required("Select the agency's sector")],
    )
    submit = SubmitField("Save agency", widget=GovSubmitInput())

    def validate_sector(self, field) -> None:
        if field.data not in {s.value for s in Sector}:
            raise ValidationError("Select the agency's sector")
