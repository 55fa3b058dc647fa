"""The server a user would write without textbench-serve: FastAPI + onnxruntime on a
textbench export, one request at a time (no batching), as README's export snippet shows.

    python bench/serve_anchor.py EXPORT_DIR PORT [THREADS]
"""

import json
import sys

import numpy as np
import onnxruntime
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from tokenizers import Tokenizer

export, port = sys.argv[1], int(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = threads  # 0: onnxruntime's default, one per core
session = onnxruntime.InferenceSession(f"{export}/model.onnx", options)
with open(f"{export}/export.json") as f:
    info = json.load(f)
tokenizer = Tokenizer.from_file(f"{export}/tokenizer.json")
tokenizer.enable_truncation(info["max_length"])  # as the model was trained
app = FastAPI()


class Request(BaseModel):
    text: str


@app.post("/predict")
def predict(request: Request) -> dict:
    encoding = tokenizer.encode(request.text)
    ids = np.array([encoding.ids or [info.get("unk_id", 1)]], dtype=np.int64)
    lengths = np.array([ids.shape[1]], dtype=np.int64)
    probs = session.run(None, {"input_ids": ids, "lengths": lengths})[0][0]
    names = info["label_names"]
    scores = dict(zip(names, probs.tolist(), strict=True))
    return {"label": names[int(probs.argmax())], "probabilities": scores}


uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
