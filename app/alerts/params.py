"""Each alert rule kind's parameters as a typed model; one discriminated union validates them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    TypeAdapter,
)
from pydantic import ValidationError as PydanticError

from app.alerts.models import RuleKind
from app.errors import BadRequest
from app.reviews.effective import FIELDS

# What a score can be compared on (reviews.effective.FIELDS, spelled out for the schema).
Dimension = Literal[
    "overall",
    "reliability",
    "responsiveness",
    "empathy",
    "competence",
    "personal_touch",
    "script_compliance",
]
assert set(get_args(Dimension)) == set(FIELDS), "Dimension must list reviews.effective.FIELDS"
# true/false are not numbers here; 50 and 50.0 are the same threshold, stored as a float.
Number = Annotated[StrictInt | StrictFloat, AfterValidator(float)]


def _whole(value: object) -> object:
    # 5 and 5.0 are a count (JSON does not tell them apart); 5.5 and true are not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[StrictInt, BeforeValidator(_whole)]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreBelow(_Params):
    kind: Literal[RuleKind.score_below] = RuleKind.score_below
    dimension: Dimension
    threshold: Number


class AutoFail(_Params):
    kind: Literal[RuleKind.auto_fail] = RuleKind.auto_fail


class NegativeEnding(_Params):
    kind: Literal[RuleKind.negative_ending] = RuleKind.negative_ending
    threshold: Number


class DeadAir(_Params):
    kind: Literal[RuleKind.dead_air] = RuleKind.dead_air
    seconds: Number


class WeeklyBelow(_Params):
    kind: Literal[RuleKind.weekly_below] = RuleKind.weekly_below
    dimension: Dimension
    target: Number
    min_calls: Count


class ReviewSla(_Params):
    kind: Literal[RuleKind.review_sla] = RuleKind.review_sla
    hours: Number


class RepeatCall(_Params):
    kind: Literal[RuleKind.repeat_call] = RuleKind.repeat_call
    days: Number


class ChannelSwapped(_Params):
    kind: Literal[RuleKind.channel_swapped] = RuleKind.channel_swapped


RuleParams = Annotated[
    ScoreBelow
    | AutoFail
    | NegativeEnding
    | DeadAir
    | WeeklyBelow
    | ReviewSla
    | RepeatCall
    | ChannelSwapped,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[RuleParams] = TypeAdapter(RuleParams)


def parse_params(kind: RuleKind, params: dict[str, Any]) -> RuleParams:
    """The parameters of a rule of `kind`, typed; a 400 that names what is wrong."""
    if "kind" in params:
        raise BadRequest("`kind` is the rule's, not a parameter")
    try:
        return _ADAPTER.validate_python({"kind": kind, **params})
    except PydanticError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"][1:]) or "params"
            if error["type"] == "missing":
                problems.append(f"{kind.value} needs the parameter {name!r}")
            elif error["type"] == "extra_forbidden":
                problems.append(f"{kind.value} takes no parameter {name!r}")
            else:
                problems.append(f"{name}: {error['msg']}")
        raise BadRequest("; ".join(problems)) from None


def validate_params(kind: RuleKind, params: dict[str, Any]) -> dict[str, Any]:
    """Parsed and stored as JSON (the rule's `params` column): numbers as floats, counts as
    integers."""
    return parse_params(kind, params).model_dump(exclude={"kind"})


_MODELS: dict[RuleKind, type[_Params]] = {
    m.model_fields["kind"].default: m
    for m in (
        ScoreBelow,
        AutoFail,
        NegativeEnding,
        DeadAir,
        WeeklyBelow,
        ReviewSla,
        RepeatCall,
        ChannelSwapped,
    )
}
DIMENSIONS: tuple[str, ...] = get_args(Dimension)


def param_names(kind: RuleKind) -> list[str]:
    """The parameters a rule of `kind` takes, in the order its form shows them."""
    return [name for name in _MODELS[kind].model_fields if name != "kind"]


def params_from_form(kind: RuleKind, form: Mapping[str, str]) -> dict[str, Any]:
    """A form's `param_<name>` fields as the parameters of `kind`: numbers as numbers, a blank
    left out (so the check says what is missing), other fields ignored. Text that is no number
    is passed on as it is, for parse_params to name."""
    params: dict[str, Any] = {}
    for name in param_names(kind):
        text = (form.get(f"param_{name}") or "").strip()
        if not text:
            continue
        if name == "dimension":
            params[name] = text
            continue
        try:
            params[name] = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                params[name] = text
            else:
                params[name] = number if math.isfinite(number) else text
    return params
