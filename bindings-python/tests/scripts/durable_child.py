"""Run by test_durable.py: another process on the same session store.

    durable_child.py STORE OPENAI_URL SESSION_ID send PROMPT   # create, send, print "sent", exit (no stop)
    durable_child.py STORE OPENAI_URL SESSION_ID hang PROMPT   # create, send, print "sent", wait to be killed
    durable_child.py STORE OPENAI_URL SESSION_ID hold          # resume, print "holding"; on a line
                                                               # from stdin disconnect, print "released"
"""

import asyncio
import sys

from modelport import Client

KEY = "sk-durable-NEVER-STORED-py-5e1c"


async def main(store: str, url: str, session_id: str, mode: str, prompt: str = "") -> None:
    client = Client(session_store=store)
    config = {"model": "durable-model", "provider": {"type": "openai", "base_url": url, "api_key": KEY}}
    if mode == "hold":
        session = await client.resume_session(session_id, config)
        print("holding", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await session.disconnect()
        print("released", flush=True)
        return
    session = await client.create_session(config, session_id=session_id)
    await session.send_and_wait(prompt, timeout=30)
    print("sent", flush=True)
    if mode == "hang":
        await asyncio.sleep(3600)
    # "send": return without client.stop() or session.disconnect().


asyncio.run(main(*sys.argv[1:]))
