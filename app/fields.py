"""marshmallow fields with the strictness the API promises."""

import marshmallow as ma


class StrictBoolean(ma.fields.Boolean):
    """Only JSON true and false: not 0/1, "yes" or "on"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):  # 0 == False in Python: compare types, not values
            raise self.make_error("invalid", input=value)
        return value
