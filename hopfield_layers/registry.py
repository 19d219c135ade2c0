"""Name registries for small pluggable components (separations, similarities).

Modelled on ``timm``'s layer factories: a component is given by a registered name, by the import
path of its class (``"my_package.MySeparation"``, so configs can name unregistered classes) or as a
ready instance. Names are looked up case-insensitively; a component class takes only the context
arguments it declares (for example ``num_heads``), so the modules can pass what they know without
every component having to accept everything.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from torch import nn

T = TypeVar("T", bound=nn.Module)


class Registry(Generic[T]):
    """Maps names to classes of one component kind (e.g. ``Separation``)."""

    def __init__(self, kind: str, base: type[T]) -> None:
        self.kind = kind
        self.base = base
        self._classes: dict[str, type[T]] = {}

    def register(self, *names: str) -> Callable[[type[T]], type[T]]:
        """Class decorator registering a component under one or more names."""

        def decorator(cls: type[T]) -> type[T]:
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise TypeError(f"only subclasses of {self.base.__name__} can be registered as a {self.kind}")
            for name in names:
                key = name.lower()
                if key in self._classes and self._classes[key] is not cls:
                    raise ValueError(f"{self.kind} name {name!r} is already registered to {self._classes[key]!r}")
                self._classes[key] = cls
            return cls

        return decorator

    def names(self) -> list[str]:
        return sorted(self._classes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._classes

    def get_class(self, name: str) -> type[T]:
        """The class registered as ``name``, or the ``base`` subclass at the import path ``name`` (``"pkg.module.Class"``)."""
        if name.lower() in self._classes:
            return self._classes[name.lower()]
        expected = f"expected one of {self.names()}, the import path of a {self.base.__name__} subclass, a dict or a {self.base.__name__} instance"
        module_name, _, attribute = name.rpartition(".")
        if not module_name:
            raise ValueError(f"unknown {self.kind} {name!r}; {expected}")
        try:
            cls = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError):
            raise ValueError(f"unknown {self.kind} {name!r} (neither a registered name nor an importable class); {expected}") from None
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise ValueError(f"{self.kind} {name!r} imports {cls!r}, which is not a {self.base.__name__} subclass")
        return cls

    def create(self, spec: str | T | dict[str, Any], **context: Any) -> T:
        """Build a component from a name or import path, a ``{"name": ..., **kwargs}`` dict or an instance.

        ``context`` (e.g. ``num_heads=8, head_dim=64``) is passed to the constructor only for the
        parameters it declares; explicit dict kwargs take precedence over context.
        """
        if isinstance(spec, self.base):
            return spec
        kwargs: dict[str, Any] = {}
        if isinstance(spec, dict):
            if "name" not in spec:
                raise ValueError(f"a {self.kind} given as a dict needs a 'name' key; got keys {sorted(spec)}")
            kwargs = {k: v for k, v in spec.items() if k != "name"}
            spec = spec["name"]
        if not isinstance(spec, str):
            raise TypeError(f"{self.kind} must be a name (str), a dict or a {self.base.__name__} instance; got {type(spec).__name__}")
        cls = self.get_class(spec)
        if cls.__init__ is nn.Module.__init__:  # no constructor of its own: takes no context
            accepted, takes_any = {}, False
        else:
            accepted = inspect.signature(cls).parameters
            takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
        for key, value in context.items():
            if key not in kwargs and (takes_any or key in accepted):
                kwargs[key] = value
        return cls(**kwargs)
