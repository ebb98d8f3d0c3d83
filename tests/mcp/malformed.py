"""A broken stdio "MCP server" for client tests. Deliberately NOT the SDK.

It reads the client's first line (normally `initialize`, or a 2026-07-28
`server/discover`), answers it with lines that are not valid JSON-RPC, and
then keeps reading stdin without ever answering again, until stdin closes.
A client must fail the start cleanly (parse error) or time out; it must not
hang forever, panic, or accept the server.

What it writes, one line each:
  1. the start of a response to the request's id, cut off mid-object:
     {"jsonrpc": "2.0", "id": <id>, "result":
  2. plain garbage text
  3. JSON that is not JSON-RPC:                 {"hello": "world"}
  4. a "response" with the wrong jsonrpc version and no result or error

Needs only the standard library; runs with any python3.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    first = sys.stdin.readline()
    if not first:
        return 0
    try:
        request_id = json.loads(first).get("id")
    except (ValueError, AttributeError):
        request_id = None
    rid = json.dumps(request_id)

    out = sys.stdout
    out.write('{"jsonrpc": "2.0", "id": ' + rid + ', "result": \n')
    out.write("}}}} this is not JSON-RPC at all \x01\x02 ]]\n")
    out.write('{"hello": "world"}\n')
    out.write('{"jsonrpc": "1.0", "id": ' + rid + "}\n")
    out.flush()

    # Keep the pipe open and swallow whatever the client sends next.
    for _ in sys.stdin:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
