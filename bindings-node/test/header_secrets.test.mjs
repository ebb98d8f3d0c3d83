// Credentials in headers never come back out of modelport. A gateway echoes every request header,
// values included, in its 401 body (tests/fixtures/replay/echo-headers.yaml: every model call and
// every model-list request is refused that way). For each sensitive header form, given in the
// provider's `headers` or in a send's `requestHeaders`, streaming and not, on sendAndWait and on
// listModels: the secret appears nowhere (the error's message, fields, stack, util.inspect and JSON;
// util.inspect of the client and the session; the events from getEvents() and on(); process
// warnings). The server is checked to have received each header with its value, so a build that
// drops the header cannot pass; the echo is checked to have come back scrubbed, so the test is not
// vacuous.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import util from "node:util";
import { Client, ModelportError } from "modelport";
import { ReplayServer } from "modelport/testing";

const ECHO_HEADERS = fileURLToPath(new URL("../../tests/fixtures/replay/echo-headers.yaml", import.meta.url));

// [header name, the secret part of its value, how the value is written]. Each form and each place
// (provider / per send) has a value of its own, so a leak names where it came from.
const FORMS = [
  ["api-key", "APIKEY-6d02f9", (s) => s],
  ["x-api-key", "XAPIKEY-b15e73", (s) => s],
  ["Authorization", "AUTHZ-0c8a4e", (s) => `Bearer ${s}`],
  ["Ocp-Apim-Subscription-Key", "APIM-f3976b", (s) => s],
];
const PLACES = ["provider", "requestHeaders"];
const secret = (form, place) => `node-${place}-${form[1]}`;
const valueOf = (form, place) => form[2](secret(form, place));
const ALL_SECRETS = FORMS.flatMap((form) => PLACES.map((place) => secret(form, place)));

const inspect = (v) => util.inspect(v, { showHidden: true, depth: Infinity, getters: true });

function errorTexts(e) {
  return [
    e.message,
    String(e),
    String(e.stack),
    inspect(e),
    JSON.stringify(e),
    JSON.stringify(Object.entries(e)),
    String(e.code),
    String(e.providerCode),
    String(e.requestId),
    String(e.errorType),
    inspect(e.cause),
  ];
}

function assertClean(where, texts) {
  for (const text of texts) {
    for (const s of ALL_SECRETS) {
      assert.ok(!String(text).includes(s), `${where}: the secret ${s} leaked into: ${text}`);
    }
  }
}

/** The gateway's echo came back, listing the header with its value replaced (and the plain header
 * as it was, so the echo carries values at all). */
function assertEchoScrubbed(e, name) {
  assert.ok(e instanceof ModelportError, `not a ModelportError: ${e}`);
  assert.equal(e.code, "auth", e.message);
  assert.equal(e.status, 401);
  assert.ok(e.message.includes("(request headers:"), e.message);
  assert.ok(e.message.includes(`${name.toLowerCase()}: [redacted]`), e.message);
  assert.ok(e.message.includes("x-team: blue"), e.message);
}

for (const type of ["openai", "anthropic"]) {
  for (const form of FORMS) {
    for (const place of PLACES) {
      for (const streaming of [false, true]) {
        const name = form[0];
        const title = `${type}: ${name} in ${place}, ${streaming ? "streaming" : "not streaming"}: the secret never comes back`;
        test(title, async () => {
          const warnings = [];
          const onWarning = (w) => warnings.push(`${w.name} ${w.code} ${w.message} ${w.stack}`);
          process.on("warning", onWarning);
          const server = await ReplayServer.start({ path: ECHO_HEADERS });
          const value = valueOf(form, place);
          const header = { [name]: value };
          const provider = {
            type,
            baseUrl: type === "openai" ? server.openaiUrl : server.url,
            headers: { ...(place === "provider" ? header : {}), "x-team": "blue" },
          };
          const texts = [];
          const client = new Client({ provider, retry: { maxRetries: 0 } });
          try {
            const session = await client.createSession({ model: "echo-model", provider, streaming });
            const seen = [];
            session.on((event) => seen.push(event));

            // A model call.
            let before = server.requestCount;
            const options = place === "provider" ? "Hello" : { prompt: "Hello", requestHeaders: header };
            const error = await session.sendAndWait(options).then(
              () => assert.fail("the gateway refuses"),
              (e) => e,
            );
            const calls = server.requests().slice(before);
            assert.ok(calls.length > 0, "the model call reached the server");
            for (const call of calls) {
              assert.equal(call.method, "POST");
              assert.equal(call.headers[name.toLowerCase()], value, `the server received ${name}`);
            }
            assertEchoScrubbed(error, name);
            texts.push(...errorTexts(error));

            // The model list (provider headers only: per-send headers belong to one send).
            if (place === "provider") {
              before = server.requestCount;
              const listError = await client.listModels().then(
                () => assert.fail("the gateway refuses the list"),
                (e) => e,
              );
              const lists = server.requests().slice(before);
              assert.ok(lists.length > 0, "the model-list request reached the server");
              for (const call of lists) {
                assert.equal(call.method, "GET");
                assert.match(call.path, /\/models/);
                assert.equal(call.headers[name.toLowerCase()], value, `the server received ${name}`);
              }
              assertEchoScrubbed(listError, name);
              texts.push(...errorTexts(listError));
            }

            const events = session.getEvents();
            assert.ok(events.some((e) => e.type === "session.error"), JSON.stringify(events));
            assert.ok(seen.some((e) => e.type === "session.error"), JSON.stringify(seen));
            texts.push(JSON.stringify(events), inspect(events), JSON.stringify(seen), inspect(seen));
            texts.push(inspect(client), inspect(session), String(client), String(session));
            await session.disconnect();
          } finally {
            const stopErrors = await client.stop();
            texts.push(inspect(stopErrors), inspect(client));
            await server.stop();
            process.off("warning", onWarning);
          }
          texts.push(...warnings);
          assertClean(title, texts);
        });
      }
    }
  }
}
