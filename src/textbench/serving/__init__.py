"""Serving a trained model over HTTP (`textbench-serve`): the model and its runtime
(model.py), dynamic batching of concurrent requests (batcher.py), and the web app with
its limits and one-line JSON errors (app.py)."""
