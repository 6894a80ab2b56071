"""Forms of the administration pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lms.accounts.models import ROLE_LABELS, Role
from lms.people.models import STATUS_LABELS


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices():
    """Return (value, label) pairs for the roles."""
    return [SelectChoice(r.value, ROLE_LABELS[r]) for r in Role]


def status_choices():
    """Return (value, label) pairs for the agent statuses."""
    return [SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()]


class UserForm(FlaskForm):
    """Create or edit a user, with the agent profile when the user is an agent."""

    username = StringField(
        _l("Username"), validators=[DataRequired(_l("Enter a username.")), Length(max=64)]
    )
    full_name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the name.")), Length(max=64)]
    )
    roles = CheckboxesField(
        _l("Roles"),
        choices=role_choices,
        validators=[DataRequired(_l("Choose at least one role."))],
    )
    is_active = BooleanField(_l("Account active"), default=True)
    password = PasswordField(
        _l("Initial password"),
        description=_l("The user must change it at first sign-in."),
        render_kw={"autocomplete": "new-password"},
    )
    employee_no = StringField(_l("Employee number (工号)"), validators=[Optional(), Length(max=32)])
    team_id = SelectField(_l("Team"), coerce=int, validators=[Optional()])
    hire_date = DateField(
        _l("Hire date"), validators=[Optional()], render_kw={"placeholder": "2024-03-01"}
    )
    status = SelectField(_l("Lifecycle status"), choices=status_choices, validators=[Optional()])


class PasswordResetForm(FlaskForm):
    """Set a temporary password for a user."""

    password = PasswordField(
        _l("Temporary password"),
        validators=[DataRequired(_l("Enter a temporary password."))],
        render_kw={"autocomplete": "new-password"},
    )


class TeamForm(FlaskForm):
    """Create or rename a team."""

    name = StringField(
        _l("Team name"), validators=[DataRequired(_l("Enter a team name.")), Length(max=64)]
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=200)])


class ImportAgentsForm(FlaskForm):
    """Upload an .xlsx or .csv of agents."""

    file = FileField(
        _l("File (.xlsx or .csv)"),
        validators=[
            FileRequired(_l("Choose a file to upload.")),
            FileAllowed(["xlsx", "csv"], _l("Upload an .xlsx or .csv file.")),
        ],
    )
