"""One registry mechanism: names -> lazily imported factories, with one option check.

Tasks, retrievers, methods and backends are each a :class:`Registry` of :class:`Entry` objects.
An entry names its factory as ``"module:attr"`` (imported on first use, so ``import r2p`` loads
no engine and no torch) or gives the factory itself. ``registry.get(name, **options)`` is the
one way to build something by name:

1. the name is looked up (:class:`~r2p.errors.UnknownNameError` lists the known names);
2. the entry's optional dependencies must be importable
   (:class:`~r2p.errors.MissingDependencyError` names the install command);
3. the options, on top of the entry's ``preset``, are checked by :meth:`Registry.check`:
   against the entry's pydantic ``options`` model when it has one, else against the factory's
   signature (an unknown option lists the accepted ones; a missing required one names the
   flag that gives it); a registry made with ``check_types=True`` also validates each value
   against its annotation, with pydantic in lax mode (``"2"`` is an int), before anything is
   built;
4. the factory is called; a ``TypeError`` from it becomes a one-line
   :class:`~r2p.errors.ConfigError`.

Example:
    >>> reg = Registry("colour", [Entry("red", lambda shade=1: ("red", shade))])
    >>> reg.get("red", shade=2)
    ('red', 2)
    >>> reg.get("blue")
    Traceback (most recent call last):
    ...
    r2p.errors.UnknownNameError: unknown colour 'blue'; choose from: red
    >>> reg.get("red", hue=3)
    Traceback (most recent call last):
    ...
    r2p.errors.ConfigError: colour 'red' has no option 'hue'; its options: shade
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from r2p.errors import ConfigError, MissingDependencyError, UnknownNameError

if TYPE_CHECKING:
    from pydantic import BaseModel

T = TypeVar("T")


def load_target(target: str | Callable[..., Any]) -> Any:
    """Import ``"module:attr"`` and return the attribute; a non-string is returned as is.

    Example:
        >>> load_target("r2p.errors:ConfigError").__name__
        'ConfigError'
    """
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Entry:
    """One name of a registry and how to build what it names.

    Attributes:
        name: the registry name.
        target: the factory, or ``"module:attr"`` naming it (imported on first use).
        requires: top-level modules that must be importable (optional extras).
        install: the exact command that installs what ``requires`` lacks.
        summary: one line for listings.
        preset: options passed before the user's (the user's win).
        options: ``"module:Model"``, a pydantic model whose fields are the factory's options,
            for factories that take ``**options`` and validate them there (R2P); ``None``: the
            factory's signature says which options it takes.
    """

    name: str
    target: str | Callable[..., Any]
    requires: tuple[str, ...] = ()
    install: str = ""
    summary: str = ""
    preset: Mapping[str, Any] = field(default_factory=dict)
    options: str | None = None

    def installed(self) -> bool:
        """Whether every module in ``requires`` can be imported (nothing is imported)."""
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def factory(self) -> Callable[..., Any]:
        """The factory (imports its module on first use)."""
        made: Callable[..., Any] = load_target(self.target)
        return made


def _exact(name: str) -> str:
    return name


class Registry(Generic[T]):
    """Names -> :class:`Entry`, built through one lookup and one option check.

    Args:
        kind: what the registry holds, in messages (``"task"``, ``"retriever"``...).
        entries: the entries, in the order listings show them; a ``dict`` is kept by reference
            (tests add entries to it).
        key: how a name is normalized before lookup (default: exact names).
        check_types: also validate option values against the factory's annotations before
            building (backends: a bad value is reported before a model loads).
        flag: the command-line flag that gives one option (``-b``), for the "needs" message.
        flags: how particular required options are given instead (``--model NAME``).
    """

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, Entry] | Iterable[Entry],
        *,
        key: Callable[[str], str] = _exact,
        check_types: bool = False,
        flag: str = "",
        flags: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.entries: dict[str, Entry] = (
            entries if isinstance(entries, dict) else
            {e.name: e for e in (entries.values() if isinstance(entries, Mapping) else entries)}
        )
        self.key = key
        self.check_types = check_types
        self.flag = flag
        self.flags = dict(flags or {})

    # -- names -------------------------------------------------------------------------------
    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        return tuple(self.entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def _find(self, name: str) -> Entry | None:
        entry = self.entries.get(name)
        if entry is not None:
            return entry
        want = self.key(name)
        for known, e in self.entries.items():
            if self.key(known) == want:
                return e
        return None

    def entry(self, name: str) -> Entry:
        """The entry registered under ``name`` (after the registry's ``key``).

        Raises:
            UnknownNameError: no such name (the message lists the known ones).
        """
        entry = self._find(name) if isinstance(name, str) else None
        if entry is None:
            raise UnknownNameError(self.kind, str(name), self.names())
        return entry

    def factory(self, name: str) -> Any:
        """The factory of ``name`` (imported), after checking its dependencies.

        Raises:
            UnknownNameError: no such name.
            MissingDependencyError: the entry's optional dependencies are not installed.
        """
        return self._load(self.entry(name))

    def _load(self, entry: Entry) -> Any:
        if not entry.installed():
            raise MissingDependencyError(f"the {entry.name!r} {self.kind}", entry.install)
        return entry.factory()

    # -- options -----------------------------------------------------------------------------
    def check(self, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``options`` (on top of the entry's preset) without building anything.

        Returns:
            The options to call the factory with: the preset, then ``options``, with values
            converted where the registry checks types.

        Raises:
            UnknownNameError: no such name.
            MissingDependencyError: the entry's optional dependencies are not installed.
            ConfigError: an option the factory does not take (the message lists those it
                takes), a missing required one, or (with an options model or
                ``check_types``) a value of the wrong type.
        """
        entry = self.entry(name)
        factory = self._load(entry)
        what = f"{self.kind} {entry.name!r}"
        opts = {**entry.preset, **options}
        if entry.options is not None:
            return self._check_model(what, load_target(entry.options), opts)
        params, hints, open_ = _parameters(factory, types=self.check_types)
        if open_:  # **options that go nowhere we can see: the factory checks them
            return opts
        accepted = list(params)
        _unknown(what, opts, accepted)
        missing = [n for n in accepted
                   if params[n].default is inspect.Parameter.empty and n not in opts]
        if missing:
            how = ", ".join(self.flags.get(n, f"{self.flag} {n}=...".strip()) for n in missing)
            raise ConfigError(f"{what} needs {', '.join(missing)} (give {how})")
        return _check_types(what, hints, opts) if self.check_types else opts

    @staticmethod
    def _check_model(what: str, model: type[BaseModel], opts: dict[str, Any]) -> dict[str, Any]:
        from pydantic import ValidationError  # pydantic loads on first use, not on import

        from r2p._validation import config_error

        _unknown(what, opts, list(model.model_fields))
        try:  # a model whose __init__ reports its own ConfigError (R2PConfig) keeps its words
            model.model_validate(opts)
        except ValidationError as exc:
            raise config_error(exc, what, model.model_fields) from None
        return opts

    # -- building ----------------------------------------------------------------------------
    def get(self, name: str, **options: Any) -> T:
        """Build ``name`` with ``options`` (checked by :meth:`check`).

        Raises:
            UnknownNameError: no such name (the message lists the known ones).
            MissingDependencyError: the entry's optional dependencies are not installed.
            ConfigError: a bad option (see :meth:`check`), or one the factory rejects.
        """
        entry = self.entry(name)
        opts = self.check(entry.name, options)
        try:
            built: T = entry.factory()(**opts)
        except TypeError as exc:  # a wrong option type deep in a constructor
            raise ConfigError(f"{self.kind} {entry.name!r}: {exc}") from None
        return built


_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


@functools.lru_cache(maxsize=256)  # signatures do not change; get_task() is called often
def _parameters(factory: Any, *, types: bool) -> tuple[dict[str, inspect.Parameter],
                                                       dict[str, Any], bool]:
    """The options ``factory`` takes: ``(parameters, type hints, open)``.

    A class whose constructor takes ``**options`` and passes them on to its base's (think to
    rag) takes the options of each constructor up its MRO, down to the first without
    ``**options``. ``open`` is True when the chain never closes (the options cannot be known
    here); ``hints`` are filled only when ``types`` is set.
    """
    if inspect.isclass(factory):
        inits = [c.__dict__["__init__"] for c in factory.__mro__
                 if c is not object and "__init__" in c.__dict__]
    else:
        inits = [factory]
    params: dict[str, inspect.Parameter] = {}
    hints: dict[str, Any] = {}
    for init in inits:
        sig = list(inspect.signature(init).parameters.values())
        if inspect.isclass(factory):
            sig = sig[1:]  # self
        if types:
            try:
                own = typing.get_type_hints(init)
            except Exception:  # an annotation that cannot be resolved here: names only
                own = {}
            hints.update({k: v for k, v in own.items() if k not in hints})
        for p in sig:
            if p.kind in _NAMED:
                params.setdefault(p.name, p)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig):
            return params, hints, False
    return params, hints, bool(inits)  # no constructor of its own anywhere: no options


def _check_types(what: str, hints: Mapping[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    """Each option with a type hint validated (lax pydantic: ``"2"`` is an int) and converted."""
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    out = dict(opts)
    for key, value in opts.items():
        if key not in hints:
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(
                hints[key], config=ConfigDict(arbitrary_types_allowed=True))
        except Exception:  # a type pydantic cannot check: left to the factory
            continue
        try:
            out[key] = adapter.validate_python(value)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"] if exc.errors() else str(exc)
            raise ConfigError(f"{what} option {key}: {msg} (got {value!r:.80})") from None
    return out


def _unknown(what: str, opts: Mapping[str, Any], accepted: list[str]) -> None:
    unknown = sorted(set(opts) - set(accepted))
    if unknown:
        raise ConfigError(f"{what} has no option {', '.join(map(repr, unknown))}; "
                          f"its options: {', '.join(accepted) or 'none'}")


__all__ = ["Entry", "Registry", "load_target"]
