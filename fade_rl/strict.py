"""The base of every validated settings model: configs, method params, suite manifests.

It lives below every other layer (it imports only pydantic), so that methods and the
experiments share it.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = ["StrictModel"]


def _leaf_types(annotation: Any) -> set[Any]:
    """The types a field annotation admits (``int | None`` -> ``{int, NoneType}``)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return set().union(*(_leaf_types(arg) for arg in typing.get_args(annotation)))
    return {annotation}


class StrictModel(BaseModel):
    """The base of every config section: unknown keys refused, no ``true`` for a number.

    pydantic's lax mode reads ``true`` as ``1`` for an ``int`` or ``float`` field; a config
    that says ``n_timesteps: true`` means something else, so it is refused.

    Example:
        >>> class Budget(StrictModel):
        ...     n_timesteps: int = 10
        >>> Budget(n_timesteps=True)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for Budget
        n_timesteps
          Value error, expected a number, got true/false ...
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            admitted = _leaf_types(cls.model_fields[info.field_name].annotation)
            if bool not in admitted and admitted & {int, float}:
                raise ValueError("expected a number, got true/false")
        return value
