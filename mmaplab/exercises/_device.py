"""Answer validation: the answer cell defines what the exercise asks for.

(The devices of the concept exercises are driver-layer kits,
``mmaplab/drivers/{pick_action,mapped_refcount,private_data,compat_layer}/``.)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["InvalidAnswer", "need_function", "need_instance"]


class InvalidAnswer(Exception):
    """The answer cell does not define what the exercise asks for (wrong type/shape)."""

    def __init__(self, message: str, misconception: str = "wrong-interface") -> None:
        super().__init__(message)
        self.misconception = misconception


def need_function(name: str, obj: Any, params: tuple[str, ...]) -> Callable[..., Any]:
    """Check that the answer defines ``name`` as a function taking ``params``."""
    if obj is None or not callable(obj):
        raise InvalidAnswer(f"`{name}` should be a function ({name}({', '.join(params)})), "
                            f"but the answer cell gave {type(obj).__name__}.")
    try:
        sig = inspect.signature(obj)
        sig.bind(*params)
    except TypeError:
        raise InvalidAnswer(f"`{name}` must accept exactly ({', '.join(params)}); "
                            f"it is defined as {name}{sig}.") from None
    except ValueError:
        pass  # builtins without a signature: let the behaviour speak
    return obj


def need_instance(name: str, obj: Any, cls: type, what: str) -> Any:
    if not isinstance(obj, cls):
        raise InvalidAnswer(f"`{name}` should be {what} ({cls.__name__}), but the answer "
                            f"cell gave {type(obj).__name__}.")
    return obj
