#!/usr/bin/env python3
"""Runs the examples of docs/http-api.md against a real server.

The first ```yaml block is the server's config (its ${SB_API_KEY} filled from the
environment, as the page says); every ```sh block that runs curl is executed by
bash with SB_URL and SB_API_KEY set, and what it prints must equal the ```json
block that follows it. A page whose examples drifted from the server fails here.

    doc_examples.py SWITCHBOARD_BIN docs/http-api.md
"""
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def main():
    binary, page = sys.argv[1], sys.argv[2]
    blocks = BLOCK.findall(open(page, encoding="utf-8").read())
    configs = [body for lang, body in blocks if lang == "yaml"]
    if not configs:
        sys.exit(f"{page}: no yaml config block")
    key = secrets.token_hex(16)
    env = dict(os.environ, SB_API_KEY=key, SWITCHBOARD_SERVER_LISTEN="127.0.0.1:0")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(configs[0])
        config = f.name
    server = subprocess.Popen([binary, "serve", "--config", config], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.time() + 20
        while url is None and time.time() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                url = m.group(1)
        if url is None:
            sys.exit("the server did not start")
        env["SB_URL"] = url.replace("localhost", "127.0.0.1")
        ran = 0
        failed = 0
        for i, (lang, body) in enumerate(blocks):
            if lang != "sh" or "curl" not in body:
                continue
            if i + 1 >= len(blocks) or blocks[i + 1][0] != "json":
                sys.exit(f"{page}: a curl example without a json output block after it:\n{body}")
            expected = blocks[i + 1][1].strip()
            got = subprocess.run(["bash", "-c", body], env=env, capture_output=True, text=True,
                                 timeout=30)
            ran += 1
            if got.stdout.strip() != expected:
                failed += 1
                print(f"FAILED example {ran}:\n{body}\nexpected: {expected}\ngot: "
                      f"{got.stdout.strip()}\nstderr: {got.stderr.strip()}")
            else:
                print(f"ok example {ran}: {expected}")
        if ran < 5:
            sys.exit(f"{page}: only {ran} curl examples found")
        if failed:
            sys.exit(f"{failed} of {ran} examples failed")
        print(f"all {ran} examples of {page} printed what the page says")
    finally:
        server.terminate()
        server.wait(timeout=20)
        os.unlink(config)


if __name__ == "__main__":
    main()
