"""The ASGI application: FastAPI routes over the store, the retriever and the method registry.

:func:`create_app` builds it from a :class:`~r2p.serve.config.ServeConfig` (and, optionally,
a ready backend, store and keys, which the caller then owns). Routes:

=======  ==================================  =========================================
method   path                                what
=======  ==================================  =========================================
POST     /v1/chat/completions                OpenAI chat completion (``stream`` too)
GET      /v1/models                          the methods, usable as ``model``
POST     /v1/users/{user}/items              add a batch of items (all or nothing)
GET      /v1/users/{user}/items              list items, oldest first (``limit``, ``after``)
GET      /v1/users/{user}/items/{id}         one item
DELETE   /v1/users/{user}/items/{id}         delete one item
DELETE   /v1/users/{user}                    erase the user
POST     /v1/users/{user}/search             the retriever's top k for a query, with scores
GET      /health                             liveness (no key needed)
=======  ==================================  =========================================

Every error is OpenAI's ``{"error": {...}}`` (see :mod:`r2p.serve.errors`); every answer is
JSON (or server-sent events) with ``X-Content-Type-Options: nosniff``, so profile text is
never rendered as HTML or Markdown by a browser.
"""


import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from r2p import __version__
from r2p.backends.base import Backend
from r2p.methods.registry import SPECS
from r2p.serve import chat
from r2p.serve.config import ServeConfig
from r2p.serve.engine import build_backend
from r2p.serve.errors import ApiError, from_exception
from r2p.serve.keys import ApiKeys
from r2p.serve.live import LiveBackend
from r2p.serve.profiles import ProfileCache
from r2p.serve.schemas import (
    ChatCompletion,
    ChatRequest,
    Deleted,
    ErrorResponse,
    Health,
    ItemList,
    ItemsAdded,
    ItemsIn,
    ModelCard,
    ModelList,
    SearchHit,
    SearchIn,
    SearchOut,
    check_text,
)
from r2p.serve.store import ID_CHARS, ProfileStore
from r2p.tasks import GENERIC, get_task
from r2p.types import ProfileItem

log = logging.getLogger("r2p.serve")

DEFAULT_TENANT = "default"
"""The tenant of every request when no API key is configured."""


class Service:
    """What the routes share: config, store, profile cache, engine, retriever, keys."""

    def __init__(self, cfg: ServeConfig, backend: Backend, store: ProfileStore,
                 keys: ApiKeys, *, owns: tuple[bool, bool]) -> None:
        from r2p.retrieval import get_retriever

        self.cfg = cfg
        self.backend = backend
        self.store = store
        self.keys = keys
        self.cache = ProfileCache(store, cfg.profile_cache_items)
        self.retriever = get_retriever(cfg.retriever)
        self.started = int(time.time())
        self._owns = owns

    def close(self) -> None:
        """Close what this service built itself."""
        if self._owns[0]:
            self.backend.close()
        if self._owns[1]:
            self.store.close()


# -- request size -----------------------------------------------------------------------------


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_big = ApiError(413, f"the request body is larger than {self.max_bytes} bytes",
                           code="request_too_large")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse(too_big.body(), status_code=413)(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, too_big.message, code="request_too_large")
            return msg

        async def tracked(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited, tracked)
        except ApiError as exc:
            if started:
                raise
            await JSONResponse(exc.body(), status_code=exc.status)(scope, receive, send)


# -- the application --------------------------------------------------------------------------


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorResponse} for c in codes}


UserId = Annotated[str, Path(min_length=1, max_length=ID_CHARS)]
ItemId = Annotated[str, Path(min_length=1, max_length=ID_CHARS)]


def create_app(cfg: ServeConfig | None = None, *, backend: Backend | None = None,
               store: ProfileStore | None = None, keys: ApiKeys | None = None) -> FastAPI:
    """The r2p server as an ASGI app.

    Args:
        cfg: settings (defaults: :class:`ServeConfig`'s).
        backend: a ready engine (default: built from ``cfg``; closed with the app then).
        store: a ready store (default: opened from ``cfg.store``; closed with the app then).
        keys: API keys (default: none, every request is tenant ``default``).

    Raises:
        ConfigError, BackendError, StoreError: a bad setting, an engine or a store that cannot
            start (before the app exists).

    Example:
        >>> from r2p.serve.store import ProfileStore
        >>> app = create_app(ServeConfig(backend="fake"), store=ProfileStore("sqlite://"))
        >>> sorted(r.path for r in app.routes if r.path.startswith("/v1/users"))[:2]
        ['/v1/users/{user}', '/v1/users/{user}/items']
    """
    cfg = cfg or ServeConfig()
    own_store = store is None
    st = store if store is not None else ProfileStore(cfg.store_url)
    try:
        be = backend if backend is not None else build_backend(cfg.backend,
                                                               cfg.backend_options)
    except BaseException:
        if own_store:
            st.close()
        raise
    svc = Service(cfg, be, st, keys or ApiKeys(), owns=(backend is None, own_store))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        svc.close()

    app = FastAPI(
        title="r2p serve", version=__version__, lifespan=lifespan,
        description="Personalized answers from a reasoning model (R2P) over each user's "
        "profile: OpenAI-compatible chat completions and a per-user profile store.")
    app.state.service = svc
    app.add_middleware(BodyLimit, max_bytes=cfg.max_body_bytes)
    _handlers(app)

    _service_routes(app, svc)
    _chat_routes(app, svc)
    _profile_routes(app, svc)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


_BEARER = HTTPBearer(auto_error=False, description="An API key (tenant:key pairs in "
                     "R2P_API_KEYS or --api-keys)")


def _tenant(request: Request,
            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> str:
    """The tenant of the request's API key (``default`` when the server has no keys)."""
    svc: Service = request.app.state.service
    if not len(svc.keys):
        return DEFAULT_TENANT
    if creds is None or not creds.credentials:
        raise ApiError(401, "missing API key (Authorization: Bearer KEY)",
                       code="invalid_api_key")
    found = svc.keys.tenant_of(creds.credentials)
    if found is None:
        raise ApiError(401, "invalid API key", code="invalid_api_key")
    return found


Tenant = Annotated[str, Depends(_tenant)]
"""A route parameter holding the request's tenant (401 without a valid key)."""


def _known(user: str) -> str:
    try:
        check_text(user, "user")
    except ValueError as exc:
        raise ApiError(400, str(exc), param="user", code="invalid_request") from None
    return user


def _not_found(user: str) -> ApiError:
    return ApiError(404, f"unknown user {user!r}", code="user_not_found", param="user")


def _service_routes(app: FastAPI, svc: Service) -> None:
    """Health and the model list."""

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """Liveness: the engine and the store in use."""
        return Health(backend=svc.backend.name, store=svc.store.dialect, version=__version__)

    @app.get("/v1/models", response_model=ModelList, tags=["chat"],
             responses=_errors(401))
    def models(_t: Tenant) -> ModelList:
        """The methods, each usable as a completion's ``model`` (``r2p-serve``: the server's
        default method)."""
        cards = [ModelCard(id=chat.DEFAULT_MODEL, created=svc.started,
                           description=f"the server's default method ({svc.cfg.method})")]
        cards += [ModelCard(id=name, created=svc.started, description=spec.summary)
                  for name, spec in SPECS.items()]
        return ModelList(data=cards)



def _chat_routes(app: FastAPI, svc: Service) -> None:
    """Chat completions."""

    @app.post("/v1/chat/completions", response_model=ChatCompletion, tags=["chat"],
              responses={**_errors(400, 401, 404, 413, 502, 503),
                         200: {"content": {"text/event-stream": {
                             "schema": {"type": "string"}}},
                             "description": "a chat.completion, or server-sent "
                             "chat.completion.chunk events with stream: true"}})
    async def chat_completions(req: ChatRequest, t: Tenant) -> Any:
        """A personalized answer for the request's user: the method named by ``model`` over
        the items retrieved from the user's profile; ``reasoning_content`` holds the thought.
        With ``stream: true``, server-sent events carry the thought as it is generated, each
        RPI intervention as it happens (``r2p`` events) and then the answer."""
        job = chat.resolve(req, svc.cfg)

        def load() -> list[ProfileItem]:
            if job.user is None:
                return []
            _known(job.user)
            profile = svc.cache.profile(t, job.user, job.task)
            if profile is None:
                raise _not_found(job.user)
            return profile

        profile = await run_in_threadpool(load)
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return StreamingResponse(
                _stream(svc, job, profile, req.model, include_usage),
                media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        pred = await run_in_threadpool(chat.predict, job, profile, svc.backend,
                                       svc.retriever)
        return chat.completion(job, pred, req.model)



def _batch(body: ItemsIn, cfg: ServeConfig) -> list[ProfileItem]:
    """The items to store, each as it was sent (an explicit null timestamp kept), or a 413
    for a batch or an item over the server's limits."""
    if len(body.items) > cfg.max_batch_items:
        raise ApiError(413, f"a batch holds at most {cfg.max_batch_items} items, got "
                       f"{len(body.items)}", code="batch_too_large", param="items")
    batch: list[ProfileItem] = []
    for i, it in enumerate(body.items):
        item = it.model_dump(exclude_none=True)
        if it.timestamp is None and "timestamp" in it.model_fields_set:
            item["timestamp"] = None
        size = len(json.dumps(item, ensure_ascii=False))
        if size > cfg.max_item_chars:
            raise ApiError(413, f"items[{i}] (id {it.id!r}) is {size} characters; at most "
                           f"{cfg.max_item_chars}", code="item_too_large", param=f"items[{i}]")
        batch.append(item)
    return batch


def _profile_routes(app: FastAPI, svc: Service) -> None:
    """The per-user profile API."""

    @app.post("/v1/users/{user}/items", status_code=201, response_model=ItemsAdded,
              tags=["profile"], responses=_errors(400, 401, 409, 413, 503))
    def add_items(user: UserId, body: ItemsIn, t: Tenant) -> ItemsAdded:
        """Add a batch of items to the user's profile (creating the user): all of them or,
        on any problem (a duplicate id, an oversized item), none."""
        _known(user)
        batch = _batch(body, svc.cfg)
        n = svc.store.add_items(t, user, batch)
        return ItemsAdded(user=user, added=n, ids=[str(it["id"]) for it in batch])

    @app.get("/v1/users/{user}/items", response_model=ItemList, tags=["profile"],
             responses=_errors(400, 401, 404, 503))
    def list_items(user: UserId, t: Tenant,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                   after: Annotated[str | None, Query(min_length=1,
                                                      max_length=ID_CHARS)] = None
                   ) -> ItemList:
        """The user's items, oldest first: at most ``limit``, after the item ``after``."""
        _known(user)
        if svc.store.revision(t, user) is None:
            raise _not_found(user)
        try:
            page = svc.store.items(t, user, limit=limit + 1, after=after)
        except KeyError:
            raise ApiError(400, f"after: unknown item {after!r}", param="after",
                           code="invalid_request") from None
        return ItemList(data=page[:limit], has_more=len(page) > limit)

    @app.get("/v1/users/{user}/items/{item_id}", tags=["profile"],
             response_model=dict[str, Any], responses=_errors(400, 401, 404, 503))
    def get_item(user: UserId, item_id: ItemId, t: Tenant) -> dict[str, Any]:
        """One item, as it was stored."""
        _known(user)
        item = svc.store.get_item(t, user, item_id)
        if item is None:
            raise ApiError(404, f"no item {item_id!r} for user {user!r}",
                           code="item_not_found", param="item_id")
        return item

    @app.delete("/v1/users/{user}/items/{item_id}", response_model=Deleted, tags=["profile"],
                responses=_errors(400, 401, 404, 503))
    def delete_item(user: UserId, item_id: ItemId, t: Tenant) -> Deleted:
        """Delete one item."""
        _known(user)
        if not svc.store.delete_item(t, user, item_id):
            raise ApiError(404, f"no item {item_id!r} for user {user!r}",
                           code="item_not_found", param="item_id")
        return Deleted(id=item_id, object="profile.item")

    @app.delete("/v1/users/{user}", response_model=Deleted, tags=["profile"],
                responses=_errors(400, 401, 404, 503))
    def delete_user(user: UserId, t: Tenant) -> Deleted:
        """Erase the user: every item and the user itself, from the store and from memory
        (with SQLite, from the database file and its write-ahead log too)."""
        _known(user)
        n = svc.store.delete_user(t, user)
        svc.cache.forget(t, user)
        if n is None:
            raise _not_found(user)
        return Deleted(id=user, object="profile.user", items_deleted=n)

    @app.post("/v1/users/{user}/search", response_model=SearchOut, tags=["profile"],
              responses=_errors(400, 401, 404, 503))
    def search(user: UserId, body: SearchIn, t: Tenant) -> SearchOut:
        """The ``k`` items the server's retriever ranks first for ``query``, with scores
        (the items a completion with that request would see)."""
        _known(user)
        try:
            task = get_task(body.task) if body.task else GENERIC
        except Exception as exc:
            raise from_exception(exc) from None
        profile = svc.cache.profile(t, user, task)
        if profile is None:
            raise _not_found(user)
        hits = svc.retriever.retrieve(task.query(body.query), profile, body.k, task) \
            if profile else []
        return SearchOut(retriever=svc.cfg.retriever,
                         data=[SearchHit(id=h.id, score=float(h.score), rank=h.rank,
                                         item=h.item) for h in hits])


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with 400 (OpenAI's status for a bad body) in place of FastAPI's
    422 for validation errors."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    for path in doc.get("paths", {}).values():
        for op in path.values():
            responses = op.get("responses", {})
            if responses.pop("422", None) is not None and path is not None:
                responses.setdefault("400", {
                    "description": "Bad request",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ErrorResponse"}}}})
    schemas = doc.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    app.openapi_schema = doc
    return doc


def _handlers(app: FastAPI) -> None:
    """OpenAI-shaped answers for every error, and ``nosniff`` on every response."""

    @app.exception_handler(ApiError)
    async def _api(_r: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc) or "body"
        msg = str(first.get("msg", "invalid request"))
        if first.get("type") == "json_invalid":
            where, msg = "body", f"malformed JSON ({first.get('ctx', {}).get('error', msg)})"
        more = f" (and {len(errs) - 1} more problem(s))" if len(errs) > 1 else ""
        err = ApiError(400, f"{where}: {msg}{more}", param=where, code="invalid_request")
        return JSONResponse(err.body(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        err = ApiError(exc.status_code, str(exc.detail), code=code)
        return JSONResponse(err.body(), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _other(r: Request, exc: Exception) -> JSONResponse:
        err = from_exception(exc)
        if err.status >= 500:
            log.error("%s %s failed: %s: %s", r.method, r.url.path, type(exc).__name__,
                      " ".join(str(exc).split())[:500])
        return JSONResponse(err.body(), status_code=err.status)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Any]]
                       ) -> Any:
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


# -- streaming --------------------------------------------------------------------------------


def _sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


async def _stream(svc: Service, job: chat.Job, profile: list[ProfileItem], model: str,
                  include_usage: bool) -> AsyncIterator[bytes]:
    """Server-sent ``chat.completion.chunk`` events: the thought while it is generated, r2p
    events (interventions, new thoughts), the answer, the finish reason, then ``[DONE]``."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def emit(kind: str, payload: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

    live = LiveBackend(svc.backend, emit)

    def work() -> None:
        try:
            emit("done", chat.predict(job, profile, live, svc.retriever))
        except BaseException as exc:  # noqa: BLE001 - reported to the client, never raised
            emit("error", exc)

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any
              ) -> dict[str, Any]:
        return {"id": job.id, "object": "chat.completion.chunk", "created": job.created,
                "model": model, "choices": [{"index": 0, "delta": delta,
                                             "finish_reason": finish, "logprobs": None}],
                **extra}

    threading.Thread(target=work, name="r2p-serve-stream", daemon=True).start()
    try:
        yield _sse(chunk({"role": "assistant", "content": ""}))
        while True:
            kind, payload = await queue.get()
            if kind == "reasoning":
                yield _sse(chunk({"reasoning_content": payload}))
            elif kind == "event":
                yield _sse(chunk({}, r2p=payload))
            elif kind == "error":
                err = from_exception(payload)
                if err.status >= 500:
                    log.error("streamed completion failed: %s: %s", type(payload).__name__,
                              " ".join(str(payload).split())[:500])
                yield _sse(err.body())
                break
            else:
                pred = payload
                yield _sse(chunk({"content": chat.answer_text(job, pred)}))
                yield _sse(chunk({}, chat.finish_reason(pred),
                                 r2p={"type": "done", **chat.r2p_info(job, pred)}))
                if include_usage:
                    yield _sse({"id": job.id, "object": "chat.completion.chunk",
                                "created": job.created, "model": model, "choices": [],
                                "usage": chat.usage(pred)})
                break
        yield _sse("[DONE]")
    finally:
        live.cancel()


__all__ = ["DEFAULT_TENANT", "BodyLimit", "Service", "create_app"]
