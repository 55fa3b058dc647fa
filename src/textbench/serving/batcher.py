"""Dynamic batching: concurrent requests wait together until `max_batch` texts are queued
or the first of them has waited `max_delay_ms`, whichever comes first, then one call to
the model answers them all (as TorchServe and Triton batch). The model runs in one worker
thread, so the event loop keeps accepting requests while it computes.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np


@dataclass
class BatchStats:
    """What /metadata reports of the batching so far."""

    requests: int = 0
    texts: int = 0
    batches: int = 0
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)  # batch size (texts) → batches

    def add(self, requests: int, texts: int) -> None:
        self.requests += requests
        self.texts += texts
        self.batches += 1
        self.largest = max(self.largest, texts)
        self.sizes[texts] = self.sizes.get(texts, 0) + 1

    def as_dict(self) -> dict:
        mean = self.texts / self.batches if self.batches else 0.0
        return {
            "requests": self.requests,
            "texts": self.texts,
            "batches": self.batches,
            "largest_batch": self.largest,
            "mean_batch": round(mean, 2),
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
        while True:
            waiting = [await self._queue.get()]
            size = len(waiting[0][0])
            deadline = time.monotonic() + self.max_delay
            while size < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), left)
                except asyncio.TimeoutError:
                    break
                waiting.append(item)
                size += len(item[0])
            texts = [t for request, _ in waiting for t in request]
            try:
                probs = await loop.run_in_executor(self._worker, self.predict_batch, texts)
            except Exception as error:  # each waiting request gets the error, not a hang
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.stats.add(len(waiting), len(texts))
            start = 0
            for request, future in waiting:
                if not future.done():
                    future.set_result(probs[start : start + len(request)])
                start += len(request)
