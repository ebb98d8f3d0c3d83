"""Guardrails with session hooks: a policy denies one tool (the model is told why and answers
without it), and a result hook redacts what another tool returned before the model sees it. The
Python form of examples/guardrail.rs.

Offline, the built-in replay provider stands in for the model (it calls both tools, then answers; its
answer is recorded for the denied and redacted results only).

    python examples/python/guardrail.py
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Dict, Optional

from pydantic import BaseModel

from modelport import Client, EventType, SessionHooks, define_tool
from modelport.testing import ReplayServer

RECORDED = Path(__file__).resolve().parent.parent / "replay" / "guardrail.yaml"


class Customer(BaseModel):
    id: str


@define_tool(description="Looks a customer up")
def lookup_customer(customer: Customer) -> str:
    return f"customer {customer.id} is Ada Lovelace, ada@example.com"


@define_tool(description="Deletes a customer")
def delete_customer(customer: Customer) -> str:
    return f"deleted {customer.id}"


def policy(data: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """No deletions from this agent: the handler never runs; the model is told why."""
    if data["toolName"].startswith("delete_"):
        return {"permissionDecision": "deny", "permissionDecisionReason": "deletions need a human"}
    return None


def redact(data: Dict[str, Any]) -> Dict[str, Any]:
    """E-mail addresses never reach the model."""
    text: str = data["toolResult"]["textResultForLlm"]
    words = ["[email]" if "@" in word else word for word in text.split(" ")]
    return {"modifiedResult": " ".join(words)}


HOOKS: SessionHooks = {"on_pre_tool_use": policy, "on_post_tool_use": redact}


async def main() -> None:
    async with await ReplayServer.from_path(RECORDED) as replay:
        async with Client(session_store="memory") as client:
            session = await client.create_session(
                model="YOUR-DEPLOYMENT-NAME",
                provider={"type": "openai", "base_url": replay.openai_url},
                tools=[lookup_customer, delete_customer],
                hooks=HOOKS,
            )
            session.on(
                EventType.TOOL_EXECUTION_COMPLETE, lambda e: print(json.dumps(e.to_dict()))
            )
            reply = await session.send_and_wait("Look up c-42, then delete it.")
            if reply is not None:
                print(reply.data.content)
        # What the model received for the two calls.
        for message in replay.requests()[1].body["messages"]:
            if message["role"] == "tool":
                print(f"model saw: {json.dumps(message['content'])}")


if __name__ == "__main__":
    asyncio.run(main())
