"""A small base for the devices of the concept exercises, plus answer validation.

Each concept exercise models a made-up but kernel-shaped device: its state is a
:class:`~mmaplab.drivers.base.Driver` subclass (so the same scenario runner
drives it as the real driver models), and its ``file_operations`` are built
from hooks handed in — the learner's or the reference's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..drivers.base import Driver
from ..kernel.fs import File, FileOperations, FMode, Inode

__all__ = ["ExerciseDevice", "InvalidAnswer", "need_function", "need_instance"]


class InvalidAnswer(Exception):
    """The answer cell does not define what the exercise asks for (wrong type/shape)."""

    def __init__(self, message: str, misconception: str = "wrong-interface") -> None:
        super().__init__(message)
        self.misconception = misconception


class ExerciseDevice(Driver):
    """A character device whose ``struct file`` points back at the device state."""

    name = "dev"
    path = "/dev/exercise"
    devno = (240, 0)

    def __init__(self, f_op: FileOperations) -> None:
        super().__init__("prepare" if f_op.mmap_prepare is not None else "legacy")
        self.f_op = f_op
        self.inode = Inode(self.path, 0, dev=self.devno)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        return File(self.inode, self.f_op, mode, private_data=self)


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
