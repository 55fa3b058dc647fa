"""The web app: POST /predict, GET /health, GET /metadata, and FastAPI's OpenAPI docs
(/docs, /openapi.json).

Limits answer in one line of JSON, `{"error": "..."}`: a body over `max_body_bytes` is
413, more texts in one request than `max_texts` is 413, a text longer than
`max_text_chars` or a malformed request is 422. Nothing answers with a traceback: an
unexpected failure is 500 with one sentence, and the details go to the server's log.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from textbench.serving.batcher import DynamicBatcher
from textbench.serving.model import ServedModel

log = logging.getLogger("textbench.serve")


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_000_000
    max_texts: int = 256
    max_text_chars: int = 100_000


class PredictRequest(BaseModel):
    """One text (`text`) or several (`texts`), not both."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    texts: list[str] | None = None


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    predictions: list[Prediction]


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def create_app(model: ServedModel, max_batch: int, max_delay_ms: float, limits: Limits) -> FastAPI:
    """The app around one model; its batcher starts and drains with the app's lifespan
    (uvicorn stops taking requests first, so requests in flight are answered)."""
    batcher = DynamicBatcher(model.predict_proba, max_batch, max_delay_ms)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title="textbench-serve",
        description="A text classifier trained with textbench.",
        lifespan=lifespan,
    )
    app.state.batcher = batcher

    app.add_middleware(BodyLimit, limit=limits.max_body_bytes)

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        return _error(error.status, error.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        what = str(first.get("msg", "invalid request")).rstrip(".")
        return _error(
            422,
            f"{what}{f' at {where}' if where else ''}: send JSON such as "
            '{"text": "..."} or {"texts": ["...", "..."]}.',
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail).rstrip(".") + ".")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("Failed to answer %s %s", request.method, request.url.path)
        return _error(500, "The server failed to answer; its log says why.")

    @app.post("/predict", response_model=PredictResponse)
    async def predict(request: PredictRequest) -> JSONResponse:
        """The label and every class probability of each text, in the order sent."""
        if (request.text is None) == (request.texts is None):
            raise Refused(422, 'Send either "text" or "texts", not both and not neither.')
        texts = [request.text] if request.text is not None else list(request.texts or [])
        if not texts:
            raise Refused(422, '"texts" is empty; send at least one text.')
        if len(texts) > limits.max_texts:
            raise Refused(413, f"{len(texts)} texts in one request; at most {limits.max_texts}.")
        long = next((i for i, t in enumerate(texts) if len(t) > limits.max_text_chars), None)
        if long is not None:
            raise Refused(
                422,
                f"Text {long} has {len(texts[long])} characters; at most {limits.max_text_chars}.",
            )
        probs = await batcher.predict(texts)
        names = model.label_names
        # a ready response: FastAPI's validation of the returned model would cost more
        # than the model's own call under load (the schema stays in the docs)
        return JSONResponse(
            {
                "predictions": [
                    {
                        "label": names[int(row.argmax())],
                        "probabilities": dict(zip(names, row.tolist(), strict=True)),
                    }
                    for row in probs
                ]
            }
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metadata")
    async def metadata() -> dict[str, Any]:
        """The model, its labels, the run and code it came from, its metrics, and the
        batching so far."""
        from textbench import __version__

        return {
            "labels": model.label_names,
            "max_length": model.max_length,
            "textbench": __version__,
            **model.metadata,
            "batching": {"max_batch": max_batch, "max_delay_ms": max_delay_ms},
            "served": batcher.stats.as_dict(),
        }

    return app


class BodyLimit:
    """Refuses a body over `limit` bytes with 413: by its Content-Length before reading
    anything, or, sent in chunks, once the chunks pass it. The body is read here, up to
    the limit, and handed to the app whole."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _error(413, f"The request body is over {self.limit} bytes.")
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await refusal(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                await refusal(scope, receive, send)
                return
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)


def _replay(messages: list[dict], then: Any = None) -> Any:
    """A `receive` that gives `messages`, then waits on `then` (a disconnect)."""
    queue = list(messages)

    async def receive() -> dict:
        if queue:
            return queue.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
