"""Forms of the trainers' typing pages: passages and the typing tests' rules.

Numbers are read by :class:`Number` rather than WTForms' own number fields, so every
message a trainer sees is ours and translated (the fields' built-in ones are English).
"""

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from exams.typing import scoring
from exams.typing.models import PASSAGE_KIND_LABELS, PASSAGE_PURPOSE_LABELS

#: The longest passage or transcript a trainer may save (the scorer allows twice that).
MAX_PASSAGE_CHARS = 5000
#: The fewest counted characters of a passage to read and type, and of a transcript: fewer
#: is not a test of typing (a timed test would repeat "好" line after line).
MIN_PASSAGE_CHARS = {"text": 50, "listen": 10}
#: The largest recording accepted.
MAX_AUDIO_BYTES = 10 * 1024 * 1024
#: The message of a choice that is not on the list (a forged form).
CHOOSE = _l("Choose one of the options.")


class Number:
    """Validate a text field as a number from ``low`` to ``high`` with at most ``places``
    decimals; the value read is left on ``field.number``."""

    def __init__(self, low, high, message, places: int = 0):
        self.low, self.high, self.places, self.message = low, high, places, message

    def __call__(self, form, field):
        raw = (field.data or "").strip()
        try:
            value = Decimal(raw)
            if not value.is_finite():  # NaN and Infinity compare by raising
                raise InvalidOperation
            # The range first: normalize() overflows on 1e1000000 (decimal.Overflow).
            if not self.low <= value <= self.high:
                raise InvalidOperation
            exponent = value.normalize().as_tuple().exponent
        except (ArithmeticError, ValueError):
            raise ValidationError(self.message) from None
        if -exponent > self.places:
            raise ValidationError(self.message)
        field.number = int(value) if self.places == 0 else value


def plain_text(form, field):
    """Strip a passage's text and refuse what cannot be typed or stored."""
    text = (field.data or "").replace("\r\n", "\n").strip()
    field.data = text
    if not text or not scoring.units(text):  # invisible characters only: nothing to type
        raise ValidationError(_l("Enter the text to type."))
    if len(text) > MAX_PASSAGE_CHARS:
        raise ValidationError(
            _l("The text is too long: at most %(n)d characters.", n=MAX_PASSAGE_CHARS)
        )
    if "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text):
        raise ValidationError(_l("The text holds characters that cannot be typed."))


def kind_choices():
    """Return the passage kinds as choices."""
    return [SelectChoice(k.value, label) for k, label in PASSAGE_KIND_LABELS.items()]


def purpose_choices():
    """Return the passage purposes as choices."""
    return [SelectChoice(p.value, label) for p, label in PASSAGE_PURPOSE_LABELS.items()]


class PassageForm(FlaskForm):
    """Create or edit a passage (or a listen-and-type item with its recording)."""

    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(_l("Enter a title.")),
            Length(max=200, message=_l("The title is too long: at most 200 characters.")),
        ],
    )
    kind = SelectField(_l("Typing kind"), choices=kind_choices, invalid_choice_message=CHOOSE)
    purpose = SelectField(_l("Use"), choices=purpose_choices, invalid_choice_message=CHOOSE)
    text = TextAreaField(
        _l("Text to type"),
        description=_l(
            "Plain text. For a listen-and-type item, the transcript of the recording: it is "
            "what the candidate's typing is scored against."
        ),
        validators=[plain_text],
        render_kw={"rows": 12},
    )
    max_plays = StringField(
        _l("Times the recording may be played"),
        default="2",
        description=_l("Listen-and-type items only: from 1 to 10."),
        render_kw={"inputmode": "numeric"},
    )
    audio = FileField(
        _l("Recording"),
        description=_l(
            "Listen-and-type items only: an OGG, MP3, WAV, M4A or WebM file of at most 10 MB."
        ),
    )

    def validate_text(self, field):
        """Refuse a passage too short to test typing (after plain_text's own checks)."""
        least = MIN_PASSAGE_CHARS.get(self.kind.data)
        if field.errors or least is None:
            return
        counted = len(scoring.units(field.data))
        if counted < least:
            raise ValidationError(
                _l(
                    "The text is too short: at least %(n)d characters to type (it has %(m)d).",
                    n=least,
                    m=counted,
                )
            )

    def validate_max_plays(self, field):
        """Check the plays of a listen-and-type item (ignored for a passage to read)."""
        if self.kind.data != "listen":
            field.number = None
            return
        Number(1, 10, _l("The recording may be played from 1 to 10 times."))(self, field)


class TypingTestForm(FlaskForm):
    """Create or edit the rules of a typing test (DOMAIN 第四条)."""

    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(_l("Enter a title.")),
            Length(max=200, message=_l("The title is too long: at most 200 characters.")),
        ],
    )
    kind = SelectField(_l("Typing kind"), choices=kind_choices, invalid_choice_message=CHOOSE)
    duration_minutes = StringField(
        _l("Duration (minutes)"),
        default="10",
        validators=[Number(3, 30, _l("The duration is a whole number of minutes from 3 to 30."))],
        render_kw={"inputmode": "numeric"},
    )
    whole_passage = BooleanField(
        _l("Type the whole passage"),
        description=_l(
            "The test ends when the passage is typed, and the speed is over the time used; "
            "the duration stays the limit."
        ),
    )
    pass_speed = StringField(
        _l("Pass speed (characters per minute)"),
        default="60",
        validators=[Number(1, 500, _l("The pass speed is a whole number from 1 to 500."))],
        render_kw={"inputmode": "numeric"},
    )
    min_accuracy = StringField(
        _l("Minimum accuracy (%)"),
        default="95",
        validators=[
            Number(1, 100, _l("The minimum accuracy is from 1 to 100 %, at most two decimals."), 2)
        ],
        render_kw={"inputmode": "decimal"},
    )
    error_penalty = StringField(
        _l("Penalty per error (characters)"),
        default="0",
        description=_l("Characters taken off the correct ones per error (net speed); 0 is off."),
        validators=[
            Number(0, 10, _l("The penalty per error is from 0 to 10, at most two decimals."), 2)
        ],
        render_kw={"inputmode": "decimal"},
    )
    speed_ceiling = StringField(
        _l("Speed ceiling (characters per minute)"),
        default="250",
        description=_l("A faster result is held for a trainer's review."),
        validators=[Number(1, 1000, _l("The speed ceiling is a whole number up to 1000."))],
        render_kw={"inputmode": "numeric"},
    )

    def validate_speed_ceiling(self, field):
        """Keep the ceiling above the pass speed (else nobody could pass)."""
        passing = getattr(self.pass_speed, "number", None)
        ceiling = getattr(field, "number", None)
        if passing is not None and ceiling is not None and ceiling <= passing:
            raise ValidationError(_l("The speed ceiling must be above the pass speed."))

    def rules(self) -> dict:
        """Return the validated rules as the model keeps them."""
        return {
            "duration_minutes": self.duration_minutes.number,
            "whole_passage": bool(self.whole_passage.data),
            "pass_speed": self.pass_speed.number,
            "min_accuracy": Decimal(self.min_accuracy.number),
            "error_penalty": Decimal(self.error_penalty.number),
            "speed_ceiling": self.speed_ceiling.number,
        }


class ReviewForm(FlaskForm):
    """A trainer's decision on a held typing result."""

    decision = SelectField(
        _l("Decision"),
        choices=[
            SelectChoice("confirm", _l("Confirm the score")),
            SelectChoice("void", _l("Void the attempt (the candidate sits again)")),
        ],
        invalid_choice_message=CHOOSE,
    )
    comment = TextAreaField(
        _l("Comment"),
        validators=[
            DataRequired(_l("Say why: the comment is kept with the decision.")),
            Length(max=2000, message=_l("The comment is too long: at most 2000 characters.")),
        ],
        render_kw={"rows": 3},
    )
