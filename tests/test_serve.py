"""textbench-serve: answers equal textbench-predict's, concurrent requests are batched,
bad requests get one-line JSON errors, a crafted checkpoint is refused, and the server
stops after answering what is in flight. Every server binds 127.0.0.1 on a free port."""

import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import torch

from textbench.cli.predict import main as predict_main
from textbench.cli.serve import bind, server
from textbench.serving.app import Limits, create_app
from textbench.serving.model import load_served_model, quantization_check

TEXTS = [
    "the film was not bad",
    "",
    "although the plot was awful, the acting was great and fun",
    "x " * 5000,
    "ünïcödé and emoji 😀 in a review",
]


@contextmanager
def running(app, delay: float = 0.0) -> Iterator[str]:
    """The app served on 127.0.0.1 at a free port, in a thread; stopped on exit."""
    sock = bind("127.0.0.1", 0)
    instance = server(app, sock)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if instance.started:
            break
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        instance.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive()


@pytest.fixture(scope="module")
def run(trained_run) -> Path:
    return trained_run("cnn")


@pytest.fixture(scope="module")
def served(run: Path):
    return load_served_model(run)[0]


def _predicted_by_the_command(run: Path, tmp_path: Path) -> list[dict]:
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    out = tmp_path / "out.jsonl"
    predict_main([f"ckpt={run}", f"input={tmp_path / 'in.jsonl'}", f"output={out}"])
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_answers_equal_textbench_predict(run: Path, served, tmp_path: Path) -> None:
    expected = _predicted_by_the_command(run, tmp_path)
    with running(create_app(served, 32, 5, Limits())) as url:
        several = httpx.post(f"{url}/predict", json={"texts": TEXTS}).json()["predictions"]
        one = httpx.post(f"{url}/predict", json={"text": TEXTS[2]}).json()["predictions"]
    assert [p["label"] for p in several] == [e["label"] for e in expected]
    for answer, row in zip(several, expected, strict=True):
        assert answer["probabilities"] == pytest.approx(row["probabilities"], abs=1e-5)
    assert one == [several[2]]


def test_an_export_folder_serves_the_same_answers(run: Path, served, tmp_path: Path) -> None:
    from textbench.cli.export import main as export_main

    export_main([f"ckpt={run}", f"out={tmp_path / 'export'}", "max_texts=16"])
    folder_model, loaded = load_served_model(tmp_path / "export")
    assert loaded is None
    assert folder_model.predict_proba(TEXTS) == pytest.approx(served.predict_proba(TEXTS), abs=1e-6)


def test_concurrent_requests_are_batched(served) -> None:
    """16 clients at once: their requests share batches (the largest holds more than one
    request's text), and each still gets its own answer."""
    expected = served.predict_proba(TEXTS)
    with running(create_app(served, 32, 20, Limits())) as url:

        def client(i: int) -> list:
            with httpx.Client() as http:
                return [
                    http.post(f"{url}/predict", json={"text": TEXTS[(i + k) % len(TEXTS)]})
                    for k in range(4)
                ]

        with ThreadPoolExecutor(16) as pool:
            answers = [r for batch in pool.map(client, range(16)) for r in batch]
        stats = httpx.get(f"{url}/metadata").json()["served"]
    assert all(r.status_code == 200 for r in answers)
    for i in range(16):
        for k, response in enumerate(answers[4 * i : 4 * i + 4]):
            row = expected[(i + k) % len(TEXTS)]
            got = list(response.json()["predictions"][0]["probabilities"].values())
            assert got == pytest.approx(row.tolist(), abs=1e-5)
    assert stats["requests"] == 64 and stats["largest_batch"] > 1
    assert stats["batches"] < 64


def test_bad_requests_get_one_line_json_errors(served) -> None:
    limits = Limits(max_body_bytes=20_000, max_texts=3, max_text_chars=1000)
    cases = [
        ({"content": b"x" * 30_000, "headers": {"content-type": "application/json"}}, 413),
        ({"json": {"texts": ["a", "b", "c", "d"]}}, 413),
        ({"json": {"text": "y" * 1001}}, 422),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
        ({"json": {"text": "a", "texts": ["b"]}}, 422),
        ({"json": {}}, 422),
        ({"json": {"texts": []}}, 422),
        ({"json": {"text": 3}}, 422),
        ({"json": {"texts": "not a list"}}, 422),
        ({"json": {"text": "a", "colour": "red"}}, 422),
    ]
    with running(create_app(served, 8, 1, limits)) as url:
        answers = [(httpx.post(f"{url}/predict", **kwargs), status) for kwargs, status in cases]
        chunked = httpx.post(
            f"{url}/predict",
            content=iter([b'{"text": "', b"z" * 25_000, b'"}']),
            headers={"content-type": "application/json"},
        )
        missing = httpx.get(f"{url}/nowhere")
        assert httpx.post(f"{url}/predict", json={"text": "fine"}).status_code == 200
    for response, status in [*answers, (chunked, 413), (missing, 404)]:
        assert response.status_code == status, (response.status_code, response.text)
        body = response.json()
        assert list(body) == ["error"] and "\n" not in body["error"], body
        assert "Traceback" not in response.text


def test_health_metadata_and_docs(run: Path, served) -> None:
    with running(create_app(served, 32, 5, Limits())) as url:
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        meta = httpx.get(f"{url}/metadata").json()
        spec = httpx.get(f"{url}/openapi.json").json()
        docs = httpx.get(f"{url}/docs")
    assert meta["labels"] == ["negative", "positive"] and meta["run"] == str(run)
    assert meta["model"] == "textbench.models.cnn.CNNEncoder"
    assert meta["metrics"]["test"]["test/acc"] > 0 and meta["runtime"] == "onnxruntime"
    assert "commit" in meta["code"]
    assert "/predict" in spec["paths"] and docs.status_code == 200


def test_requests_in_flight_are_answered_when_the_server_stops(served) -> None:
    """A request waiting for its batch (300 ms) when the server is told to stop still
    gets its answer."""
    app = create_app(served, 32, 300, Limits())
    sock = bind("127.0.0.1", 0)
    instance = server(app, sock)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not instance.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.post, f"{url}/predict", json={"text": "a good film"})
        time.sleep(0.1)  # the request is waiting in the batcher
        instance.should_exit = True
        response = pending.result(timeout=30)
    thread.join(timeout=30)
    assert response.status_code == 200 and len(response.json()["predictions"]) == 1


def test_int8_quantization_says_what_it_costs(run: Path, served) -> None:
    int8, loaded = load_served_model(run, quantize="dynamic")
    assert int8.metadata["precision"] == "int8 (dynamic)"
    probabilities = int8.predict_proba(TEXTS)
    assert probabilities.shape == (len(TEXTS), 2)
    assert abs(probabilities - served.predict_proba(TEXTS)).max() < 0.05
    sentence = quantization_check(int8, loaded, [])
    assert sentence.startswith("int8 (dynamic): test accuracy ") and "200 test texts" in sentence


def test_a_crafted_checkpoint_is_refused_before_serving(run: Path, tmp_path: Path) -> None:
    from textbench.cli.serve import main as serve_main

    marker = tmp_path / "marker"
    evil = copy.deepcopy(torch.load(run / "checkpoints" / "last.ckpt", weights_only=True))
    evil["hyper_parameters"]["label_names"] = {
        "_target_": "uuid._get_command_stdout",
        "_args_": ["sh", "-c", f"touch {marker}"],
    }
    torch.save(evil, tmp_path / "crafted.ckpt")
    with pytest.raises(SystemExit) as exit_info:
        serve_main([f"ckpt={tmp_path / 'crafted.ckpt'}", "port=0"])
    assert exit_info.value.code == 2 and not marker.exists()


@pytest.mark.slow
def test_the_command_serves_on_loopback_and_stops_on_ctrl_c(run: Path, tmp_path: Path) -> None:
    """From the command line, port=0: the start-up line names the loopback address; a
    request is answered; SIGINT ends the server without a traceback."""
    command = [str(Path(sys.executable).with_name("textbench-serve")), f"ckpt={run}", "port=0"]
    process = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "Serving" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.post(f"{url}/predict", json={"text": "a good film"}, timeout=30)
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130  # 128 + SIGINT, as for textbench-train
    assert "Traceback" not in process.stderr.read()
    assert not list(tmp_path.iterdir())  # it writes nothing where it runs


def test_the_listening_socket_is_a_tcp_one() -> None:
    """asyncio sets TCP_NODELAY only on connections of a socket made with IPPROTO_TCP;
    without it every answer waited ~40 ms for a delayed acknowledgement (bench/serve.py
    saw 48 ms at one client, against 2 ms with it)."""
    import socket

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_a_batch_grows_while_the_model_computes_the_last_one() -> None:
    """max_delay_ms=0: no wait on an idle model (the first request runs alone), and the
    requests that arrive while it computes go to the model together as the next batch."""
    import asyncio

    import numpy as np

    from textbench.serving.batcher import DynamicBatcher

    def slow(texts):
        time.sleep(0.2)
        return np.zeros((len(texts), 2), dtype=np.float32)

    async def main() -> dict:
        batcher = DynamicBatcher(slow, max_batch=32, max_delay_ms=0)
        batcher.start()
        first = asyncio.ensure_future(batcher.predict(["first"]))
        await asyncio.sleep(0.05)  # the model is computing "first"
        rest = [asyncio.ensure_future(batcher.predict([str(i)])) for i in range(15)]
        answers = await asyncio.gather(first, *rest)
        await batcher.stop()
        assert all(a.shape == (1, 2) for a in answers)
        return batcher.stats.sizes

    assert asyncio.run(main()) == {1: 1, 15: 1}
