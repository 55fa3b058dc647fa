"""Dynamic batching: concurrent requests wait together until `max_batch` texts are queued
or the first of them has waited `max_delay_ms`, whichever comes first, then one call to
the model answers them all (as TorchServe and Triton batch). The model runs in one worker
thread, so the event loop keeps accepting requests while it computes, and the next batch
grows meanwhile: a batch goes to the model once the model is free and the batch is full
or its delay has passed. With max_delay_ms=0 a batch is whatever arrived while the model
computed the last one (no wait on an idle model).
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np


@dataclass
class BatchStats:
    """What /metadata reports of the batching so far: every count derives from the
    number of batches of each size."""

    requests: int = 0
    sizes: Counter[int] = field(default_factory=Counter)  # batch size (texts) → batches

    def add(self, requests: int, texts: int) -> None:
        self.requests += requests
        self.sizes[texts] += 1

    def as_dict(self) -> dict:
        batches = self.sizes.total()
        texts = sum(size * n for size, n in self.sizes.items())
        return {
            "requests": self.requests,
            "texts": texts,
            "batches": batches,
            "largest_batch": max(self.sizes, default=0),
            "mean_batch": round(texts / batches, 2) if batches else 0.0,
        }


class DynamicBatcher:
    """`await batcher.predict(texts)` gives those texts' probabilities, computed in one
    batch with whatever other requests arrived meanwhile."""

    def __init__(
        self,
        predict: Callable[[Sequence[str]], np.ndarray],
        max_batch: int,
        max_delay_ms: float,
    ) -> None:
        self.predict_batch = predict
        self.max_batch = max_batch
        self.max_delay = max_delay_ms / 1000
        self.stats = BatchStats()
        self._queue: asyncio.Queue[tuple[list[str], asyncio.Future]] = asyncio.Queue()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="textbench-model")
        self._task: asyncio.Task | None = None
        self._pending = 0  # requests not answered yet

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._serve())

    async def stop(self, timeout: float = 30.0) -> None:
        """Answer every request waiting for its batch, then stop (the server has stopped
        taking requests)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()
        self._worker.shutdown(wait=True)

    async def predict(self, texts: list[str]) -> np.ndarray:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending += 1
        try:
            await self._queue.put((texts, future))
            return await future
        finally:
            self._pending -= 1

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        running: asyncio.Future | None = None  # the batch the model computes now
        getter: asyncio.Task | None = None  # the next request, when one is awaited
        try:
            while True:
                if getter is None:
                    getter = asyncio.ensure_future(self._queue.get())
                waiting = [await getter]
                getter = None
                size = len(waiting[0][0])
                deadline = loop.time() + self.max_delay
                while size < self.max_batch:
                    while size < self.max_batch and not self._queue.empty():
                        waiting.append(self._queue.get_nowait())
                        size += len(waiting[-1][0])
                    busy = running is not None and not running.done()
                    left = deadline - loop.time()
                    if size >= self.max_batch or (not busy and left <= 0):
                        break
                    getter = getter or asyncio.ensure_future(self._queue.get())
                    wake = {getter, running} if busy else {getter}
                    await asyncio.wait(
                        wake, timeout=None if busy else left, return_when="FIRST_COMPLETED"
                    )
                    if getter.done():
                        waiting.append(getter.result())
                        size += len(waiting[-1][0])
                        getter = None
                if running is not None and not running.done():
                    await asyncio.wait({running})  # a full batch waits for the model
                texts = [t for request, _ in waiting for t in request]
                running = loop.run_in_executor(self._worker, self.predict_batch, texts)
                running.add_done_callback(partial(self._answer, waiting))
        finally:
            if getter is not None:
                getter.cancel()

    def _answer(
        self, waiting: list[tuple[list[str], asyncio.Future]], done: asyncio.Future
    ) -> None:
        """Each request of a computed batch gets its rows (or the batch's error, not a hang)."""
        if done.cancelled():
            for _, future in waiting:
                future.cancel()
            return
        error = done.exception()
        if error is None:
            probs = done.result()
            self.stats.add(len(waiting), len(probs))
        start = 0
        for request, future in waiting:
            if not future.done():
                if error is None:
                    future.set_result(probs[start : start + len(request)])
                else:
                    future.set_exception(error)
            start += len(request)
