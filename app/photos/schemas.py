import marshmallow as ma
from flask_smorest.fields import Upload

from app.photos.models import KINDS


class PhotoUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "JPEG, PNG, WebP or HEIC; 20 MB max"})


class PhotoKindArgsSchema(ma.Schema):
    kind = ma.fields.String(
        load_default="report",
        validate=ma.validate.OneOf(KINDS),
        metadata={
            "description": "report (the author's or the desk's), after (the crew's, of the "
            "work done) or reopen (the author's or a supporter's: still not fixed)"
        },
    )


class BoxSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    source = ma.fields.String(
        required=True, metadata={"description": "auto (found by detection) or desk (drawn)"}
    )
    kind = ma.fields.String(required=True, metadata={"description": "face, plate or desk"})
    score = ma.fields.Float(required=True, metadata={"description": "The detector's confidence"})
    left = ma.fields.Float(required=True, metadata={"description": "Fraction of the width"})
    top = ma.fields.Float(required=True, metadata={"description": "Fraction of the height"})
    right = ma.fields.Float(required=True)
    bottom = ma.fields.Float(required=True)
    active = ma.fields.Boolean(
        required=True, metadata={"description": "Blurred now (false: removed by the desk)"}
    )
    drawn_by = ma.fields.String(allow_none=True, required=True)
    drawn_at = ma.fields.String(allow_none=True, required=True)
    removed_by = ma.fields.String(allow_none=True, required=True)
    removed_at = ma.fields.String(allow_none=True, required=True)


class PhotoModerationSchema(ma.Schema):
    version = ma.fields.Integer(
        required=True, metadata={"description": "The photo's ETag: send it in If-Match"}
    )
    hidden = ma.fields.Boolean(required=True, metadata={"description": "Hidden by the desk"})
    boxes = ma.fields.List(ma.fields.Nested(BoxSchema), required=True)
    has_original = ma.fields.Boolean(
        required=True,
        metadata={"description": "An unblurred original is kept (GET .../original, audited)"},
    )
    detected = ma.fields.Boolean(
        required=True,
        metadata={"description": "Detection ran (false: processed before blurring existed)"},
    )
    moderated_by = ma.fields.String(allow_none=True, required=True)
    moderated_at = ma.fields.DateTime(allow_none=True, required=True)


class PhotoSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    status = ma.fields.String(
        required=True, metadata={"description": "processing, ready or rejected"}
    )
    reject_reason = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "too_large, too_many_pixels, unsupported_format or corrupt"},
    )
    url = ma.fields.String(allow_none=True, required=True)
    thumbnail_url = ma.fields.String(allow_none=True, required=True)
    width = ma.fields.Integer(allow_none=True, required=True)
    height = ma.fields.Integer(allow_none=True, required=True)
    public = ma.fields.Boolean(
        metadata={
            "description": "Shown to the public (ready and not hidden); given to its "
            "uploader and the report's staff only"
        }
    )
    moderation = ma.fields.Nested(
        PhotoModerationSchema,
        metadata={"description": "For the report's staff only: its boxes, hidden, version"},
    )


def _side(description: str) -> ma.fields.Float:
    return ma.fields.Float(
        required=True,
        allow_nan=False,
        metadata={"description": description, "minimum": 0, "maximum": 1},
    )


class BoxInSchema(ma.Schema):
    """A box to draw: its sides in fractions of the image's width and height."""

    left = _side("Left side, a fraction of the width")
    top = _side("Top side, a fraction of the height")
    right = _side("Right side, more than left")
    bottom = _side("Bottom side, more than top")


class BoxesInSchema(ma.Schema):
    keep = ma.fields.List(
        ma.fields.Integer(validate=ma.validate.Range(min=1, max=10_000)),
        required=True,
        validate=ma.validate.Length(max=100),
        metadata={
            "description": "The ids of the boxes to keep blurred (or to blur again); every "
            "other box is removed, and stays removed"
        },
    )
    add = ma.fields.List(
        ma.fields.Nested(BoxInSchema),
        load_default=list,
        validate=ma.validate.Length(max=100),
        metadata={"description": "New boxes the desk draws (the same box twice is one)"},
    )


class PhotoPathSchema(ma.Schema):
    report_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**62))
    photo_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
