"""The official openai and anthropic Python SDKs parse every kind of replay output.

Usage: python sdk_conformance.py BASE_URL   (the replay server's root, e.g. http://127.0.0.1:PORT)

For Chat Completions, Responses and Anthropic Messages, streaming and not, a text answer and a tool
call are requested through the SDK's own client and its own parsing (the stream helpers accumulate the
events as the SDK defines them). Each check prints "ok <name>"; any mismatch raises.
"""

import json
import sys

import anthropic
import openai

TEXT = "This is a text answer from the replay provider, long enough for several deltas."
ARGS = {"city": "Paris", "unit": "celsius"}
TOOL_OPENAI = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
TOOL_RESPONSES = {"type": "function", "name": "get_weather", "description": "Weather",
                  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": False}
TOOL_ANTHROPIC = {"name": "get_weather", "description": "Weather",
                  "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def check(name, got, want):
    if got != want:
        raise AssertionError(f"{name}: got {got!r}, want {want!r}")
    print("ok", name, flush=True)


def chat(client):
    text = [{"role": "user", "content": "Say something"}]
    tool = [{"role": "user", "content": "Call the tool"}]
    r = client.chat.completions.create(model="conformance-model", messages=text)
    check("chat text", (r.choices[0].message.content, r.choices[0].finish_reason), (TEXT, "stop"))
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    r = client.chat.completions.create(model="conformance-model", messages=tool, tools=[TOOL_OPENAI])
    call = r.choices[0].message.tool_calls[0]
    check("chat tool call", (call.function.name, json.loads(call.function.arguments), r.choices[0].finish_reason),
          ("get_weather", ARGS, "tool_calls"))
    with client.chat.completions.stream(model="conformance-model", messages=text,
                                        stream_options={"include_usage": True}) as s:
        final = s.get_final_completion()
    check("chat stream text", final.choices[0].message.content, TEXT)
    assert final.usage is not None and final.usage.completion_tokens > 0
    with client.chat.completions.stream(model="conformance-model", messages=tool, tools=[TOOL_OPENAI]) as s:
        final = s.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    check("chat stream tool call", (call.function.name, json.loads(call.function.arguments)), ("get_weather", ARGS))
    deltas = [c for c in client.chat.completions.create(model="conformance-model", messages=text, stream=True)]
    joined = "".join(c.choices[0].delta.content or "" for c in deltas if c.choices)
    check("chat raw stream chunks", joined, TEXT)


def responses(client):
    r = client.responses.create(model="conformance-model", input="Say something")
    check("responses text", (r.output_text, r.status), (TEXT, "completed"))
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    r = client.responses.create(model="conformance-model", input="Call the tool", tools=[TOOL_RESPONSES])
    call = [o for o in r.output if o.type == "function_call"][0]
    check("responses tool call", (call.name, json.loads(call.arguments)), ("get_weather", ARGS))
    with client.responses.stream(model="conformance-model", input="Say something") as s:
        deltas = "".join(e.delta for e in s if e.type == "response.output_text.delta")
        final = s.get_final_response()
    check("responses stream text", (deltas, final.output_text), (TEXT, TEXT))
    with client.responses.stream(model="conformance-model", input="Call the tool", tools=[TOOL_RESPONSES]) as s:
        final = s.get_final_response()
    call = [o for o in final.output if o.type == "function_call"][0]
    check("responses stream tool call", (call.name, json.loads(call.arguments)), ("get_weather", ARGS))


def messages(client):
    text = [{"role": "user", "content": "Say something"}]
    tool = [{"role": "user", "content": "Call the tool"}]
    m = client.messages.create(model="conformance-model", max_tokens=100, messages=text)
    check("anthropic text", (m.content[0].text, m.stop_reason), (TEXT, "end_turn"))
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0
    m = client.messages.create(model="conformance-model", max_tokens=100, messages=tool, tools=[TOOL_ANTHROPIC])
    use = [b for b in m.content if b.type == "tool_use"][0]
    check("anthropic tool call", (use.name, use.input, m.stop_reason), ("get_weather", ARGS, "tool_use"))
    with client.messages.stream(model="conformance-model", max_tokens=100, messages=text) as s:
        streamed = "".join(s.text_stream)
        final = s.get_final_message()
    check("anthropic stream text", (streamed, final.content[0].text), (TEXT, TEXT))
    with client.messages.stream(model="conformance-model", max_tokens=100, messages=tool, tools=[TOOL_ANTHROPIC]) as s:
        final = s.get_final_message()
    use = [b for b in final.content if b.type == "tool_use"][0]
    check("anthropic stream tool call", (use.name, use.input, final.stop_reason), ("get_weather", ARGS, "tool_use"))


def main():
    base = sys.argv[1].rstrip("/")
    common = dict(api_key="sk-conformance", max_retries=0, timeout=30)
    chat(openai.OpenAI(base_url=base + "/v1", **common))
    responses(openai.OpenAI(base_url=base + "/v1", **common))
    # Azure routes through the SDK's own Azure client: deployment route and the v1 route.
    azure = openai.AzureOpenAI(azure_endpoint=base, api_version="2024-10-21", api_key="k",
                               azure_deployment="conformance-model", max_retries=0, timeout=30)
    r = azure.chat.completions.create(model="conformance-model", messages=[{"role": "user", "content": "Say something"}])
    check("azure deployment route text", r.choices[0].message.content, TEXT)
    v1 = openai.OpenAI(base_url=base + "/openai/v1/", **common)
    check("azure v1 route responses text", v1.responses.create(model="conformance-model", input="Say something").output_text, TEXT)
    messages(anthropic.Anthropic(base_url=base, api_key="ak-conformance", max_retries=0, timeout=30))
    print("all conformance checks passed", flush=True)


if __name__ == "__main__":
    main()
