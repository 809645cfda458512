"""Type stubs of the native module (``bindings/python/src/lib.rs``)."""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from os import PathLike

CtxValue = str | int | bool | datetime
Value = str | int | bool | datetime | timedelta
At = str | datetime | None

class PolicyError(Exception):
    """A policy, data file or live update was refused; the message holds the diagnostics."""

class Decision:
    """The answer to a check; truthy when allowed."""

    allowed: bool
    reason: str
    errors: list[str]
    notes: list[str]
    def __bool__(self) -> bool: ...

class Answer:
    """One page of a query's answers."""

    variables: list[str]
    rows: list[tuple[str | int | bool, ...]]
    total: int
    next: str | None
    errors: list[str]
    notes: list[str]
    @property
    def holds(self) -> bool: ...
    def __bool__(self) -> bool: ...
    def __len__(self) -> int: ...

class Explanation:
    """Why a query holds or does not."""

    holds: bool
    text: str
    verbose_text: str
    json: str

class ObjectList:
    """The objects of one type a subject may act on."""

    every: bool
    objects: list[str]
    excluded: list[str]
    next: str | None
    errors: list[str]

class SubjectList:
    """The subjects (users and groups) that may act on one object."""

    every: bool
    subjects: list[str]
    excluded: list[str]
    next: str | None
    errors: list[str]

class SqlFilter:
    """The objects a subject may act on as a SQL condition: ``residual``
    (``always``, ``never``, ``only``, ``all_but``, ``per_row``) with its
    ``objects``, and ``condition`` with its ``params``; when
    ``check_each_row``, each selected row must still be checked."""

    residual: str
    objects: list[str]
    condition: str
    params: list[int | str | list[int] | list[str]]
    check_each_row: bool
    errors: list[str]

class Warden:
    """A Warden program (policy and data files), kept live."""

    @staticmethod
    def from_paths(
        paths: Sequence[str | PathLike[str]],
        extern_fns: Mapping[str, Callable[..., Value]] | None = None,
        privileged_updates: bool = False,
        source: str | PathLike[str] | None = None,
    ) -> Warden: ...
    @staticmethod
    def from_source(
        name: str,
        text: str,
        extern_fns: Mapping[str, Callable[..., Value]] | None = None,
        privileged_updates: bool = False,
    ) -> Warden: ...
    def reload(self, keep_live_changes: bool = True) -> list[str]: ...
    def update(self, insert: Sequence[str] = ..., remove: Sequence[str] = ...) -> int: ...
    def refresh(self) -> bool: ...
    @property
    def version(self) -> int: ...
    def check(
        self, user: str, perm: str, obj: str, at: At = None, ctx: Mapping[str, CtxValue] | None = None
    ) -> Decision: ...
    def is_allowed(
        self, user: str, perm: str, obj: str, at: At = None, ctx: Mapping[str, CtxValue] | None = None
    ) -> bool: ...
    def check_many(
        self,
        requests: Sequence[tuple[str, str, str]],
        at: At = None,
        ctx: Mapping[str, CtxValue] | None = None,
    ) -> list[bool]: ...
    def query(
        self,
        atom: str,
        at: At = None,
        ctx: Mapping[str, CtxValue] | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Answer: ...
    def list_objects(
        self,
        user: str,
        perm: str,
        ty: str,
        at: At = None,
        ctx: Mapping[str, CtxValue] | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> ObjectList:
        """Raises ``ValueError`` when a limit stopped the evaluation (no list is no answer)."""
    def list_subjects(
        self,
        perm: str,
        obj: str,
        subject_type: str | None = None,
        at: At = None,
        ctx: Mapping[str, CtxValue] | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> SubjectList:
        """Raises ``ValueError`` when a limit stopped the evaluation (no list is no answer)."""
    def filter_sql(
        self,
        user: str,
        perm: str,
        ty: str,
        column: str = "id",
        key: str = "integer",
        dialect: str = "sqlite",
        first_param: int = 1,
        placeholder: str = "numbered",
        at: At = None,
        ctx: Mapping[str, CtxValue] | None = None,
    ) -> SqlFilter:
        """Raises ``ValueError`` for a bad dialect, key or column, or when a limit stopped the listing."""
    def run_tests(self) -> list[tuple[str, str | None]]: ...
    def explain(self, atom: str, at: At = None, ctx: Mapping[str, CtxValue] | None = None) -> Explanation: ...
