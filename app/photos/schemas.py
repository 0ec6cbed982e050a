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


class PhotoPathSchema(ma.Schema):
    report_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**62))
    photo_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
