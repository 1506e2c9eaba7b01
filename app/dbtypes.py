"""Column types shared by the models."""

from enum import StrEnum

import sqlalchemy as sa


def enum_type(enum: type[StrEnum]) -> sa.Enum:
    """A string column holding the enum's values. Not a native PostgreSQL enum: adding a value
    (a new call status) must not need a type migration."""
    return sa.Enum(
        enum,
        native_enum=False,
        length=20,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
    )
