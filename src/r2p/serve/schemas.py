"""The wire format: request and response bodies of every endpoint, as pydantic models.

Chat completions follow OpenAI's schema (the fields r2p honours are typed; any other field an
OpenAI client sends is accepted and ignored). The profile API is r2p's own. Every error body is
:class:`ErrorResponse`, OpenAI's ``{"error": {"message", "type", "param", "code"}}``.

Strings that reach the store or a model must be valid UTF-8 text without NUL characters
(:func:`check_text`); JSON can carry lone surrogates and NULs, which neither SQLite's encoder
nor PostgreSQL accepts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from r2p.serve.store import ID_CHARS

# -- text hygiene -----------------------------------------------------------------------------


def check_text(value: str, what: str = "text") -> str:
    """``value`` when it is storable text.

    Raises:
        ValueError: a NUL character or a lone surrogate (not encodable as UTF-8).
    """
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode (a lone surrogate)") from None
    return value


def check_json(value: Any, what: str = "item", depth: int = 0) -> Any:
    """Check every string (keys included) inside a JSON value with :func:`check_text`."""
    if depth > 32:
        raise ValueError(f"{what} is nested too deeply")
    if isinstance(value, str):
        return check_text(value, what)
    if isinstance(value, dict):
        for k, v in value.items():
            check_text(str(k), f"{what} field name")
            check_json(v, f"{what} field {str(k)[:40]!r}", depth + 1)
    elif isinstance(value, list):
        for v in value:
            check_json(v, what, depth + 1)
    return value


# -- errors -----------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    """OpenAI's error object."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": {...}}``."""

    error: ErrorBody


# -- profile API ------------------------------------------------------------------------------


class ItemIn(BaseModel):
    """One profile item: an ``id``, a ``text``, an optional ``timestamp`` and any other
    fields (kept as given and shown to methods that use them, e.g. a LaMP task's ``score``)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=ID_CHARS)
    text: str = Field(min_length=1)
    timestamp: str | int | float | None = None

    @field_validator("id", "text")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_text(value)

    @field_validator("timestamp")
    @classmethod
    def _stamp(cls, value: str | int | float | None) -> str | int | float | None:
        return check_text(value, "timestamp") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _extra(self) -> ItemIn:
        check_json(self.model_extra or {}, "item")
        return self


class ItemsIn(BaseModel):
    """``POST /v1/users/{user}/items``: a batch, stored all or nothing."""

    items: list[ItemIn] = Field(min_length=1)


class ItemsAdded(BaseModel):
    """What a batch write answers."""

    object: Literal["profile.items.added"] = "profile.items.added"
    user: str
    added: int
    ids: list[str]


class ItemList(BaseModel):
    """A page of a user's items, oldest first; ``has_more`` says another page follows (ask
    with ``after`` = the last id)."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    has_more: bool


class Deleted(BaseModel):
    """What a delete answers."""

    id: str
    object: Literal["profile.item", "profile.user"]
    deleted: bool = True
    items_deleted: int | None = None


class SearchIn(BaseModel):
    """``POST /v1/users/{user}/search``: the ``k`` items the retriever ranks first for
    ``query`` (``task`` picks how the query and items are read; default ``generic``)."""

    query: str = Field(min_length=1, max_length=64_000)
    k: int = Field(4, ge=1, le=100)
    task: str | None = Field(None, max_length=32)

    @field_validator("query")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_text(value, "query")


class SearchHit(BaseModel):
    """One retrieved item with its score and 0-based rank."""

    id: str
    score: float
    rank: int
    item: dict[str, Any]


class SearchOut(BaseModel):
    """Search results, best first."""

    object: Literal["list"] = "list"
    retriever: str
    data: list[SearchHit]


# -- models, health ---------------------------------------------------------------------------


class ModelCard(BaseModel):
    """One entry of ``GET /v1/models``: a method, usable as a completion's ``model``."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "r2p"
    description: str = ""


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class Health(BaseModel):
    """``GET /health``."""

    status: Literal["ok"] = "ok"
    backend: str
    store: str
    version: str


# -- chat completions -------------------------------------------------------------------------


class ContentPart(BaseModel):
    """A part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=64)
    text: str | None = None


class ChatMessage(BaseModel):
    """A message of the conversation."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "\n".join(p.text for p in self.content if p.type == "text" and p.text)


class StreamOptions(BaseModel):
    """``stream_options``: ``include_usage`` adds a last chunk carrying the usage."""

    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions`` (OpenAI's schema; other fields are ignored).

    ``model`` names the method (``r2p``, ``rag``, ``direct``...; ``GET /v1/models`` lists
    them; ``r2p-serve`` is the server's default method). The user is ``user`` or
    ``metadata.user_id``; ``metadata.task`` names a LaMP task (default: the generic
    personalized-response family) and ``metadata.k`` the items to retrieve.
    """

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=128)
    messages: list[ChatMessage] = Field(min_length=1, max_length=256)
    user: str | None = Field(None, max_length=ID_CHARS)
    metadata: dict[str, str] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    n: int | None = Field(None, ge=1, le=1)

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, "user")

    @field_validator("metadata")
    @classmethod
    def _meta(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None:
            if len(value) > 16:
                raise ValueError("metadata holds at most 16 keys")
            check_json(value, "metadata")
        return value


class Usage(BaseModel):
    """Token usage summed over every engine call of the request."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, int] = Field(default_factory=dict)
    completion_tokens_details: dict[str, int] = Field(default_factory=dict)


class AssistantMessage(BaseModel):
    """The answer (``content``) and the thought (``reasoning_content``)."""

    role: Literal["assistant"] = "assistant"
    content: str
    reasoning_content: str | None = None


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class R2PInfo(BaseModel):
    """What r2p did: the task, the method, the retrieved items, the RPI interventions."""

    task: str
    method: str
    user: str | None
    retrieved_ids: list[str]
    interventions: list[dict[str, Any]]
    format_ok: bool
    calls: int


class ChatCompletion(BaseModel):
    """A chat completion (OpenAI's ``chat.completion`` object, plus ``r2p``)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    r2p: R2PInfo


__all__ = [
    "AssistantMessage", "ChatCompletion", "ChatMessage", "ChatRequest", "Choice",
    "ContentPart", "Deleted", "ErrorBody", "ErrorResponse", "Health", "ItemIn", "ItemList",
    "ItemsAdded", "ItemsIn", "ModelCard", "ModelList", "R2PInfo", "SearchHit", "SearchIn",
    "SearchOut", "StreamOptions", "Usage", "check_json", "check_text",
]
