"""`textbench-serve`: a trained model behind an HTTP endpoint, with dynamic batching.

The checkpoint goes through the same trust check as every command and is exported to
ONNX (checked against PyTorch) before the first request; the server binds 127.0.0.1
unless `host=` says otherwise, and Ctrl-C (or SIGTERM) stops taking requests, answers
those in flight, then exits.
"""

import socket
import sys
from typing import Any

from omegaconf import DictConfig

from textbench.cli.app import hydra_app
from textbench.errors import ConfigError
from textbench.terminal import printable


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts (port=0: a free port, which
    the start-up line then names)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on connections of such a socket;
    # without it every answer waits ~40 ms for a delayed acknowledgement (measured)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port} ({error.strerror or error}); choose another "
            "port=, or host=127.0.0.1."
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def server(app: Any, sock: socket.socket) -> Any:
    """A uvicorn server on `sock`: its own lines at warning level (no line per request),
    and up to 30 s for the requests in flight when told to stop."""
    import uvicorn

    config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=30
    )
    return uvicorn.Server(config)


@hydra_app("serve")
def main(cfg: DictConfig) -> None:
    from pathlib import Path

    source = Path(cfg.ckpt)
    if not (source.is_dir() and (source / "export.json").is_file()):
        from textbench.inference.checkpoint import resolve_checkpoint

        resolve_checkpoint(source)  # a mistyped path is one sentence before torch loads
    sock = bind(cfg.host, cfg.port)  # a port in use is refused before the model loads
    from textbench.serving.app import Limits, create_app
    from textbench.serving.model import load_served_model, quantization_check

    served, loaded = load_served_model(
        cfg.ckpt, cfg.runtime, cfg.quantize, cfg.threads, list(cfg.trust)
    )
    if cfg.quantize == "dynamic":
        print(quantization_check(served, loaded, list(cfg.trust)), file=sys.stderr)
    limits = Limits(cfg.max_body_bytes, cfg.max_texts, cfg.max_text_chars)
    app = create_app(served, cfg.max_batch, cfg.max_delay_ms, limits)
    host, port = sock.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    print(
        f"Serving {printable(served.metadata.get('checkpoint') or cfg.ckpt)} "
        f"({', '.join(map(printable, served.label_names))}) on {url} with "
        f"{served.metadata['runtime']} {served.metadata['precision']}; batches of up to "
        f"{cfg.max_batch} texts or {cfg.max_delay_ms:g} ms. POST {url}/predict, docs at "
        f"{url}/docs; Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    try:
        server(app, sock).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn has stopped gracefully, then re-raised Ctrl-C
        print("Stopped: the requests in flight were answered.", file=sys.stderr)
        sys.exit(130)  # 128 + SIGINT, as shells report Ctrl-C


if __name__ == "__main__":
    main()
