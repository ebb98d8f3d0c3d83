/*
 * End-to-end test of the C ABI against the replay provider (run by bindings-ffi/scripts/test.sh,
 * under valgrind): a text turn, tool calls through a C callback, streaming events, a non-blocking send,
 * abort (from the main thread during a tool, and from inside an event callback), errors (bad JSON, bad
 * config, a failed turn), list_models, unsubscribe, resume, stop, a session freed from inside its
 * own callback, header credentials never echoed back, infinite sessions (compaction in a small
 * context window, mp_session_compact, the error when it is off), the callbacks (each permission
 * decision, session hooks, bearer token providers, onListModels), and durable sessions (list,
 * metadata, delete, the session error codes, the lease between two clients, and a resume after the
 * process that wrote the session exited: this program run again as a child), an unknown event type
 * refused by mp_session_on, and logs (a log callback at the level asked, replaced and removed;
 * MODELPORT_LOG=debug writing to stderr in a child). Every handle and string is freed.
 *
 *   test_ffi REPO_ROOT
 *   test_ffi --child STORE_URL REPLAY_URL SESSION_ID   (creates the session, sends, exits at once)
 *   test_ffi --log-child REPLAY_URL                    (one failing send with MODELPORT_LOG set)
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modelport.h"

/* ---------------------------------------------------------------- checks */

static int checks = 0;
static int failures = 0;

static void check(bool ok, const char *file, int line, const char *what, const char *fmt, ...) {
    checks++;
    if (ok) return;
    failures++;
    fprintf(stderr, "FAIL %s:%d: %s", file, line, what);
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, ": ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "\n");
}

#define CHECK(cond) check((cond), __FILE__, __LINE__, #cond, NULL)
#define CHECKF(cond, ...) check((cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define CHECK_OK(call)                                                                            \
    do {                                                                                          \
        mp_status st_ = (call);                                                                   \
        check(st_ == MP_OK, __FILE__, __LINE__, #call, "%s: %s", mp_status_name(st_),            \
              mp_last_error_message());                                                           \
    } while (0)
#define CHECK_STATUS(expected, call)                                                              \
    do {                                                                                          \
        mp_status st_ = (call);                                                                   \
        check(st_ == (expected), __FILE__, __LINE__, #call, "expected %s, got %s (%s)",          \
              mp_status_name(expected), mp_status_name(st_), mp_last_error_message());            \
    } while (0)

static bool contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* A JSON value as text (library string turned into a malloc'd copy, or NULL). */
static char *json_get(const char *json, const char *pointer) {
    char *value = NULL;
    if (mp_json_pointer(json, pointer, &value) != MP_OK || value == NULL) return NULL;
    char *copy = strdup(value);
    mp_string_free(value);
    return copy;
}

static bool json_is(const char *json, const char *pointer, const char *expected) {
    char *value = json_get(json, pointer);
    bool same = value != NULL && strcmp(value, expected) == 0;
    free(value);
    return same;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    size_t got = fread(text, 1, (size_t)n, f);
    text[got] = '\0';
    fclose(f);
    return text;
}

static pthread_t main_thread;

/* ---------------------------------------------------------------- event recorder */

typedef struct {
    pthread_mutex_t mu;
    char **types;
    char **jsons;
    size_t n;
    size_t cap;
    int on_main_thread;
} recorder;

static void recorder_init(recorder *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

static void recorder_free(recorder *r) {
    for (size_t i = 0; i < r->n; i++) {
        free(r->types[i]);
        free(r->jsons[i]);
    }
    free(r->types);
    free(r->jsons);
    pthread_mutex_destroy(&r->mu);
}

static void on_event(void *user_data, const char *type, const char *json) {
    recorder *r = user_data;
    pthread_mutex_lock(&r->mu);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->types = realloc(r->types, r->cap * sizeof *r->types);
        r->jsons = realloc(r->jsons, r->cap * sizeof *r->jsons);
    }
    r->types[r->n] = strdup(type);
    r->jsons[r->n] = strdup(json);
    r->n++;
    if (pthread_equal(pthread_self(), main_thread)) r->on_main_thread++;
    pthread_mutex_unlock(&r->mu);
}

static size_t count_type(recorder *r, const char *type) {
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) n += strcmp(r->types[i], type) == 0;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* The JSON of the first event of `type` (owned by the recorder), or NULL. */
static const char *first_of(recorder *r, const char *type) {
    const char *found = NULL;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n && found == NULL; i++)
        if (strcmp(r->types[i], type) == 0) found = r->jsons[i];
    pthread_mutex_unlock(&r->mu);
    return found;
}

static const char *last_type(recorder *r) {
    pthread_mutex_lock(&r->mu);
    const char *t = r->n ? r->types[r->n - 1] : "";
    pthread_mutex_unlock(&r->mu);
    return t;
}

/* ---------------------------------------------------------------- completion waiter */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    mp_status status;
    char *content;
    char *error;
    bool on_main_thread;
} waiter;

static void waiter_init(waiter *w) {
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
}

static void waiter_free(waiter *w) {
    free(w->content);
    free(w->error);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

static void on_done(void *user_data, mp_status status, const char *result_json, const char *error) {
    waiter *w = user_data;
    pthread_mutex_lock(&w->mu);
    w->status = status;
    w->content = result_json ? json_get(result_json, "/data/content") : NULL;
    w->error = error ? strdup(error) : NULL;
    w->on_main_thread = pthread_equal(pthread_self(), main_thread);
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void waiter_wait(waiter *w) {
    pthread_mutex_lock(&w->mu);
    while (!w->done) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* ---------------------------------------------------------------- weather tool */

typedef struct {
    pthread_mutex_t mu;
    int calls;
    int on_main_thread;
    bool saw_tool_name;
} weather_state;

static void get_weather(void *user_data, const char *arguments, const char *invocation,
                        mp_tool_result *result) {
    weather_state *st = user_data;
    char *city = json_get(arguments, "/city");
    pthread_mutex_lock(&st->mu);
    st->calls++;
    if (pthread_equal(pthread_self(), main_thread)) st->on_main_thread++;
    if (json_is(invocation, "/toolName", "get_weather")) st->saw_tool_name = true;
    pthread_mutex_unlock(&st->mu);
    if (city != NULL && strcmp(city, "Paris") == 0) {
        /* Through JSON: an object is given to the model as compact JSON with sorted keys. */
        mp_tool_result_set_json(result, "{\"temperature_c\": 22, \"conditions\": \"sunny\", \"city\": \"Paris\"}");
    } else if (city != NULL && strcmp(city, "Tokyo") == 0) {
        mp_tool_result_set_text(result, "{\"city\":\"Tokyo\",\"conditions\":\"rainy\",\"temperature_c\":17}");
    } else {
        mp_tool_result_set_error(result, "unknown city");
    }
    free(city);
}

static const char *WEATHER_SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}";

/* A tool that blocks until released, to abort a send while it runs. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started;
    bool released;
} gate_tool;

static void blocking_tool(void *user_data, const char *arguments, const char *invocation,
                          mp_tool_result *result) {
    (void)arguments;
    (void)invocation;
    gate_tool *g = user_data;
    pthread_mutex_lock(&g->mu);
    g->started++;
    pthread_cond_broadcast(&g->cv);
    while (!g->released) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    mp_tool_result_set_text(result, "too late");
}

/* ---------------------------------------------------------------- helpers */

static char *provider_config(const char *url, bool streaming) {
    /* Shaped like the seed's Azure AI Foundry example. The key must never come back out. */
    const char *fmt =
        "{\"model\": \"YOUR-DEPLOYMENT-NAME\", \"streaming\": %s, \"provider\": {\"type\": \"openai\","
        " \"baseUrl\": \"%s/openai/v1/\", \"wireApi\": \"responses\", \"apiKey\": \"sk-test-SECRET-42\"}}";
    size_t n = strlen(fmt) + strlen(url) + 8;
    char *json = malloc(n);
    snprintf(json, n, fmt, streaming ? "true" : "false", url);
    return json;
}

static mp_replay *start_replay(const char *root, const char *file, const char *options) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, file);
    mp_replay *replay = NULL;
    CHECK_OK(mp_replay_start(path, options, &replay));
    return replay;
}

/* ---------------------------------------------------------------- tests */

static void test_basics(void) {
    CHECK(strlen(mp_version()) > 0);
    CHECK(strcmp(mp_status_name(MP_OK), "ok") == 0);
    CHECK(strcmp(mp_status_name(MP_ERR_CONFIG), "config") == 0);
    CHECK(strcmp(mp_status_name(MP_ERR_CANCELLED), "cancelled") == 0);
    CHECK(strcmp(mp_status_name(12345), "unknown") == 0);
    CHECK(strcmp(mp_status_name(MP_ERR_SESSION_BUSY), "session_busy") == 0);
    CHECK(strcmp(mp_status_name(MP_ERR_STORAGE), "storage") == 0);
    CHECK(strcmp(mp_status_name(MP_ERR_HOOK), "hook") == 0);
    CHECK(strcmp(mp_status_name(MP_ERR_INVALID_OUTPUT), "invalid_output") == 0);
    CHECK(strcmp(mp_last_error_message(), "") == 0);
    char *value = NULL;
    CHECK_OK(mp_json_pointer("{\"a\": {\"b\": [1, \"x\"]}}", "/a/b/1", &value));
    CHECK(value != NULL && strcmp(value, "x") == 0);
    mp_string_free(value);
    CHECK_OK(mp_json_pointer("{\"a\": {\"b\": [1, \"x\"]}}", "/a/b", &value));
    CHECK(value != NULL && strcmp(value, "[1,\"x\"]") == 0);
    mp_string_free(value);
    CHECK_OK(mp_json_pointer("{}", "/missing", &value));
    CHECK(value == NULL);
    CHECK_STATUS(MP_ERR_CONFIG, mp_json_pointer("{oops", "/a", &value));
    CHECK(value == NULL);
    mp_string_free(NULL);
}

static void test_bad_config(const char *root) {
    mp_client *client = (mp_client *)&client; /* must be reset to NULL on failure */

    CHECK_STATUS(MP_ERR_CONFIG, mp_client_new("{\"provider\": ", &client));
    CHECK(client == NULL);
    CHECKF(contains(mp_last_error_message(), "invalid client options"), "%s", mp_last_error_message());
    CHECK(contains(mp_last_error_json(), "\"code\":\"config\""));

    CHECK_STATUS(MP_ERR_CONFIG,
                 mp_client_new("{\"provider\": {\"type\": \"openai\", \"bseUrl\": \"http://127.0.0.1:9/v1\","
                               " \"apiKey\": \"sk-test-SECRET-42\"}}",
                               &client));
    CHECKF(contains(mp_last_error_message(), "bseUrl"), "%s", mp_last_error_message());
    CHECK(!contains(mp_last_error_message(), "SECRET"));
    CHECK(!contains(mp_last_error_json(), "SECRET"));

    CHECK_STATUS(MP_ERR_USAGE, mp_client_new(NULL, NULL));
    CHECK_STATUS(MP_ERR_USAGE, mp_session_abort(NULL));

    CHECK_OK(mp_client_new(NULL, &client));
    mp_session *session = NULL;
    CHECK_STATUS(MP_ERR_CONFIG, mp_client_create_session(client, "{\"model\": ", NULL, 0, &session));
    CHECK(session == NULL);
    CHECK(strlen(mp_last_error_message()) > 0);

    CHECK_STATUS(MP_ERR_CONFIG,
                 mp_client_create_session(client, "{\"provider\": {\"baseUrl\": \"http://127.0.0.1:9/v1\"}}",
                                          NULL, 0, &session));
    CHECKF(contains(mp_last_error_message(), "Model not specified"), "%s", mp_last_error_message());

    CHECK_STATUS(MP_ERR_CONFIG,
                 mp_client_create_session(client,
                                          "{\"model\": \"m\", \"provider\": {\"type\": \"azure\","
                                          " \"baseUrl\": \"https://x.openai.azure.com/openai/v1/\"}}",
                                          NULL, 0, &session));
    CHECKF(contains(mp_last_error_message(), "azure"), "%s", mp_last_error_message());

    CHECK_STATUS(MP_ERR_CONFIG, mp_client_create_session(client, "{\"model\": \"m\", \"temprature\": 1}",
                                                         NULL, 0, &session));
    CHECKF(contains(mp_last_error_message(), "temprature"), "%s", mp_last_error_message());

    mp_tool no_handler = {"t", "a tool", NULL, NULL, NULL};
    CHECK_STATUS(MP_ERR_USAGE, mp_client_create_session(client, "{\"model\": \"m\"}", &no_handler, 1, &session));

    mp_replay *replay = NULL;
    CHECK_STATUS(MP_ERR_CONFIG, mp_replay_start("/no/such/file.yaml", NULL, &replay));
    CHECK(replay == NULL);

    /* Bad send options on a valid session. */
    replay = start_replay(root, "examples/replay/quickstart.yaml", NULL);
    char *config = provider_config(mp_replay_url(replay), false);
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    char *result = NULL;
    CHECK_STATUS(MP_ERR_CONFIG, mp_session_send_and_wait(session, "What is 2+2?", 0, &result));
    CHECKF(contains(mp_last_error_message(), "invalid send options"), "%s", mp_last_error_message());
    CHECK(result == NULL);
    CHECK_STATUS(MP_ERR_CONFIG, mp_session_send_and_wait(session, "{\"prompt\": \"  \"}", 0, &result));
    CHECKF(contains(mp_last_error_message(), "prompt is empty"), "%s", mp_last_error_message());

    mp_session_free(session);
    free(config);
    mp_client_free(client);
    mp_replay_stop(replay);
}

static void test_text_turn(const char *root) {
    mp_replay *replay = start_replay(root, "examples/replay/quickstart.yaml", NULL);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new(NULL, &client));
    char *config = provider_config(mp_replay_url(replay), false);
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    CHECK(strlen(mp_session_id(session)) > 0);

    recorder messages;
    recorder_init(&messages);
    mp_subscription *sub = NULL;
    CHECK_OK(mp_session_on(session, "assistant.message", on_event, &messages, &sub));

    /* A typo would subscribe to nothing: refused, naming the valid types. */
    mp_subscription *typo = (mp_subscription *)&typo;
    CHECK_STATUS(MP_ERR_CONFIG, mp_session_on(session, "assistant.mesage", on_event, &messages, &typo));
    CHECK(typo == NULL);
    CHECKF(contains(mp_last_error_message(), "did you mean assistant.message") &&
               contains(mp_last_error_message(), "session.idle"),
           "%s", mp_last_error_message());
    CHECK(contains(mp_last_error_json(), "\"code\":\"config\""));
    /* A Copilot SDK type modelport never emits is accepted, as are NULL and "*". */
    mp_subscription *copilot = NULL, *all = NULL;
    CHECK_OK(mp_session_on(session, "subagent.started", on_event, &messages, &copilot));
    CHECK_OK(mp_session_on(session, "*", on_event, &messages, &all));
    mp_subscription_free(all);
    all = NULL;
    CHECK_OK(mp_session_on(session, NULL, on_event, &messages, &all));
    mp_subscription_free(all);

    char *result = NULL;
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"What is 2+2?\"}", 0, &result));
    CHECKF(json_is(result, "/data/content", "2 + 2 = 4."), "%s", result ? result : "(null)");
    CHECK(json_is(result, "/type", "assistant.message"));
    mp_string_free(result);

    /* send_and_wait returns after the callbacks have seen the send's events. */
    CHECK(messages.n == 1);
    CHECK(messages.n == 1 && json_is(messages.jsons[0], "/data/content", "2 + 2 = 4."));
    CHECK(messages.on_main_thread == 0);

    char *events = NULL;
    CHECK_OK(mp_session_get_events(session, &events));
    CHECK(contains(events, "\"type\":\"session.start\""));
    CHECK(contains(events, "\"type\":\"user.message\""));
    CHECK(!contains(events, "SECRET"));
    mp_string_free(events);

    mp_subscription_free(sub);
    mp_subscription_free(copilot);
    mp_session_free(session);
    recorder_free(&messages);
    free(config);
    mp_client_free(client);
    mp_replay_stop(replay);
}

static void test_tool_call(const char *root) {
    mp_replay *replay = start_replay(root, "examples/replay/tools.yaml", NULL);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new(NULL, &client));
    char *config = provider_config(mp_replay_url(replay), false);

    weather_state state;
    memset(&state, 0, sizeof state);
    pthread_mutex_init(&state.mu, NULL);
    mp_tool tools[] = {{"get_weather", "Current weather for a city", WEATHER_SCHEMA, get_weather, &state}};
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, tools, 1, &session));

    recorder all;
    recorder_init(&all);
    mp_subscription *sub = NULL;
    CHECK_OK(mp_session_on(session, NULL, on_event, &all, &sub));

    char *result = NULL;
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"What's the weather like in Paris and in Tokyo?\"}",
                                      0, &result));
    CHECKF(json_is(result, "/data/content", "It is sunny and 22 \xC2\xB0" "C in Paris, and rainy and 17 \xC2\xB0" "C in Tokyo."),
           "%s", result ? result : "(null)");
    mp_string_free(result);

    CHECK(state.calls == 2);
    CHECK(state.on_main_thread == 0);
    CHECK(state.saw_tool_name);
    CHECK(count_type(&all, "tool.execution_start") == 2);
    CHECK(count_type(&all, "tool.execution_complete") == 2);
    const char *complete = first_of(&all, "tool.execution_complete");
    CHECK(complete != NULL && json_is(complete, "/data/success", "true"));
    CHECK(count_type(&all, "assistant.message") == 2);
    CHECK(strcmp(last_type(&all), "session.idle") == 0);
    CHECK(all.on_main_thread == 0);

    mp_subscription_free(sub);
    mp_session_free(session);
    pthread_mutex_destroy(&state.mu);
    recorder_free(&all);
    free(config);
    mp_client_free(client);
    mp_replay_stop(replay);
}

static void test_streaming(const char *root) {
    mp_replay *replay = start_replay(root, "examples/replay/streaming.yaml", "{\"deltaChars\": 8}");
    mp_client *client = NULL;
    CHECK_OK(mp_client_new(NULL, &client));
    char *config = provider_config(mp_replay_url(replay), true);
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    recorder all;
    recorder_init(&all);
    mp_subscription *sub = NULL;
    CHECK_OK(mp_session_on(session, "*", on_event, &all, &sub));

    char *result = NULL;
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"Write a haiku about streaming tokens.\"}", 0,
                                      &result));
    char *content = json_get(result, "/data/content");
    CHECK(content != NULL && contains(content, "Tokens drift like rain"));

    size_t deltas = count_type(&all, "assistant.message_delta");
    CHECKF(deltas >= 8, "%zu deltas", deltas);
    size_t total = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (strcmp(all.types[i], "assistant.message_delta") != 0) continue;
        char *piece = json_get(all.jsons[i], "/data/deltaContent");
        total += piece ? strlen(piece) : 0;
        free(piece);
    }
    CHECK(content != NULL && total == strlen(content));
    CHECK(count_type(&all, "assistant.message_start") == 1);
    CHECK(count_type(&all, "assistant.usage") == 1);
    CHECK(strcmp(last_type(&all), "session.idle") == 0);

    free(content);
    mp_string_free(result);
    mp_subscription_free(sub);
    mp_session_free(session);
    recorder_free(&all);
    free(config);
    mp_client_free(client);
    mp_replay_stop(replay);
}

static void test_send_async(const char *root) {
    mp_replay *replay = start_replay(root, "examples/replay/quickstart.yaml", NULL);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new(NULL, &client));
    char *config = provider_config(mp_replay_url(replay), false);
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));

    waiter w;
    waiter_init(&w);
    CHECK_OK(mp_session_send_async(session, "{\"prompt\": \"What is 2+2?\"}", 0, on_done, &w));
    waiter_wait(&w);
    CHECK(w.status == MP_OK);
    CHECK(w.content != NULL && strcmp(w.content, "2 + 2 = 4.") == 0);
    CHECK(w.error == NULL);
    CHECK(!w.on_main_thread);
    CHECK_STATUS(MP_ERR_USAGE, mp_session_send_async(session, "{\"prompt\": \"x\"}", 0, NULL, NULL));

    mp_session_free(session);
    waiter_free(&w);
    free(config);
    mp_client_free(client);
    mp_replay_stop(replay);
}

static void test_abort_during_tool_then_failed_turn(const char *root) {
    mp_replay *replay = start_replay(root, "examples/replay/tools.yaml", NULL);
    mp_client *client = NULL;
    /* No retries, so that the failed turn below fails at once. */
    CHECK_OK(mp_client_new("{\"retry\": {\"maxRetries\": 0}}", &client));
    char *config = provider_config(mp_replay_url(replay), false);
    gate_tool g;
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    mp_tool tools[] = {{"get_weather", "Current weather for a city", WEATHER_SCHEMA, blocking_tool, &g}};
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, tools, 1, &session));
    recorder all;
    recorder_init(&all);
    mp_subscription *sub = NULL;
    CHECK_OK(mp_session_on(session, NULL, on_event, &all, &sub));

    waiter w;
    waiter_init(&w);
    CHECK_OK(mp_session_send_async(session, "{\"prompt\": \"What's the weather like in Paris and in Tokyo?\"}", 0,
                                   on_done, &w));
    pthread_mutex_lock(&g.mu);
    while (g.started == 0) pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);

    CHECK_OK(mp_session_abort(session));
    waiter_wait(&w);
    CHECK_STATUS(MP_ERR_CANCELLED, w.status);
    CHECK(w.content == NULL);
    CHECK(w.error != NULL && strlen(w.error) > 0);

    /* The tool handlers are still blocked: release them (their results are dropped). */
    pthread_mutex_lock(&g.mu);
    g.released = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);

    CHECK(count_type(&all, "abort") == 1);
    const char *complete = first_of(&all, "tool.execution_complete");
    CHECK(complete != NULL && json_is(complete, "/data/error/code", "interrupted"));
    const char *idle = first_of(&all, "session.idle");
    CHECK(idle != NULL && json_is(idle, "/data/aborted", "true"));

    /* A failed turn: the history now departs from every recorded conversation, so the replay
     * provider answers HTTP 500. */
    char *result = NULL;
    CHECK_STATUS(MP_ERR_SERVER, mp_session_send_and_wait(session, "{\"prompt\": \"What is 2+2?\"}", 0, &result));
    CHECK(result == NULL);
    CHECK(strlen(mp_last_error_message()) > 0);
    CHECK(contains(mp_last_error_json(), "\"status\":500"));
    CHECK(!contains(mp_last_error_message(), "SECRET"));
    CHECK(count_type(&all, "session.error") == 1);

    mp_subscription_free(sub);
    mp_session_free(session);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.cv);
    waiter_free(&w);
    recorder_free(&all);
    free(config);
    mp_client_free(client);
    mp_replay_stop(replay);
}

/* Aborts from inside an event callback, on the first streamed delta. */
typedef struct {
    mp_session *session;
    int deltas;
    mp_status abort_status;
    mp_status nested_wait_status;
} abort_on_delta;

static void abort_callback(void *user_data, const char *type, const char *json) {
    (void)type;
    (void)json;
    abort_on_delta *a = user_data;
    if (a->deltas++ > 0) return;
    char *result = NULL;
    a->nested_wait_status = mp_session_send_and_wait(a->session, "{\"prompt\": \"x\"}", 0, &result);
    a->abort_status = mp_session_abort(a->session);
}

static void test_abort_from_callback(const char *root) {
    mp_replay *replay =
        start_replay(root, "examples/replay/streaming.yaml", "{\"deltaChars\": 1, \"chunkDelayMs\": 5}");
    mp_client *client = NULL;
    CHECK_OK(mp_client_new(NULL, &client));
    char *config = provider_config(mp_replay_url(replay), true);
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    abort_on_delta a = {session, 0, -1, -1};
    mp_subscription *sub = NULL;
    CHECK_OK(mp_session_on(session, "assistant.message_delta", abort_callback, &a, &sub));

    char *result = NULL;
    CHECK_STATUS(MP_ERR_CANCELLED,
                 mp_session_send_and_wait(session, "{\"prompt\": \"Write a haiku about streaming tokens.\"}", 0,
                                          &result));
    CHECK(result == NULL);
    CHECK_STATUS(MP_OK, a.abort_status);
    CHECK_STATUS(MP_ERR_USAGE, a.nested_wait_status);

    mp_subscription_free(sub);
    mp_session_free(session);
    free(config);
    mp_client_free(client);
    mp_replay_stop(replay);
}

static void test_list_models(const char *root) {
    mp_replay *replay = start_replay(root, "examples/replay/quickstart.yaml", NULL);
    char options[512];
    snprintf(options, sizeof options,
             "{\"provider\": {\"type\": \"openai\", \"baseUrl\": \"%s\", \"apiKey\": \"sk-test-SECRET-42\"}}",
             mp_replay_openai_url(replay));
    mp_client *client = NULL;
    CHECK_OK(mp_client_new(options, &client));
    char *models = NULL;
    CHECK_OK(mp_client_list_models(client, &models));
    CHECKF(json_is(models, "/0/id", "YOUR-DEPLOYMENT-NAME"), "%s", models ? models : "(null)");
    mp_string_free(models);
    /* A session that names no provider uses the client's. */
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, "{\"model\": \"YOUR-DEPLOYMENT-NAME\"}", NULL, 0, &session));
    char *result = NULL;
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"What is 2+2?\"}", 0, &result));
    CHECK(json_is(result, "/data/content", "2 + 2 = 4."));
    mp_string_free(result);
    uint64_t requests = 0;
    CHECK_OK(mp_replay_request_count(replay, &requests));
    CHECK(requests == 2);
    mp_session_free(session);
    mp_client_free(client);
    mp_replay_stop(replay);
}

static void test_unsubscribe_resume_and_stop(const char *root) {
    char path[4096];
    snprintf(path, sizeof path, "%s/bindings-ffi/tests/fixtures/two-turns.yaml", root);
    char *yaml = read_file(path);
    CHECK(yaml != NULL);
    mp_replay *replay = NULL;
    CHECK_OK(mp_replay_start(yaml, NULL, &replay)); /* YAML text this time */
    free(yaml);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new(NULL, &client));
    char *config = provider_config(mp_replay_url(replay), false);
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    recorder messages;
    recorder_init(&messages);
    mp_subscription *sub = NULL;
    CHECK_OK(mp_session_on(session, "assistant.message", on_event, &messages, &sub));

    char *result = NULL;
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"What is 2+2?\"}", 0, &result));
    mp_string_free(result);
    CHECK(messages.n == 1);
    mp_subscription_free(sub);

    /* Free the session, then resume it by id: the conversation continues. */
    char *id = strdup(mp_session_id(session));
    mp_session_free(session);
    session = NULL;
    CHECK_OK(mp_client_resume_session(client, id, config, NULL, 0, &session));
    CHECK(session != NULL && strcmp(mp_session_id(session), id) == 0);
    result = NULL;
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"And 3+3?\"}", 0, &result));
    CHECKF(json_is(result, "/data/content", "3 + 3 = 6."), "%s", result ? result : "(null)");
    mp_string_free(result);
    CHECK(messages.n == 1); /* unsubscribed */

    char *message_id = NULL;
    char *errors = NULL;
    CHECK_OK(mp_client_stop(client, &errors));
    CHECK(errors != NULL && strcmp(errors, "[]") == 0);
    mp_string_free(errors);
    CHECK(mp_session_send(session, "{\"prompt\": \"again\"}", &message_id) != MP_OK);
    CHECK(message_id == NULL);

    free(id);
    mp_session_free(session);
    recorder_free(&messages);
    free(config);
    mp_client_free(client);
    mp_replay_stop(replay);
}

/* Frees the subscription and then the whole session from inside the session's own event callback. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mp_session *session;
    mp_subscription *sub;
    int calls_after_free;
    bool freed;
} self_free;

static void free_from_callback(void *user_data, const char *type, const char *json) {
    (void)json;
    self_free *f = user_data;
    pthread_mutex_lock(&f->mu);
    bool freed = f->freed;
    if (freed) f->calls_after_free++;
    pthread_mutex_unlock(&f->mu);
    if (freed || strcmp(type, "assistant.message") != 0) return;
    /* Returns after the pending completion (on_done) has run on another thread. */
    mp_subscription_free(f->sub);
    mp_session_free(f->session);
    pthread_mutex_lock(&f->mu);
    f->freed = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void test_free_inside_callback(const char *root) {
    mp_replay *replay = start_replay(root, "examples/replay/quickstart.yaml", NULL);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new(NULL, &client));
    char *config = provider_config(mp_replay_url(replay), false);
    self_free f;
    memset(&f, 0, sizeof f);
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &f.session));
    CHECK_OK(mp_session_on(f.session, NULL, free_from_callback, &f, &f.sub));
    waiter w;
    waiter_init(&w);
    CHECK_OK(mp_session_send_async(f.session, "{\"prompt\": \"What is 2+2?\"}", 0, on_done, &w));
    waiter_wait(&w);
    pthread_mutex_lock(&f.mu);
    while (!f.freed) pthread_cond_wait(&f.cv, &f.mu);
    pthread_mutex_unlock(&f.mu);
    /* The session was freed while its send was finishing: either outcome is right, exactly once. */
    CHECKF(w.status == MP_OK || w.status == MP_ERR_CANCELLED, "%s", mp_status_name(w.status));
    CHECK(f.calls_after_free == 0);
    waiter_free(&w);
    free(config);
    /* Joins the client's threads, so the callback has returned before `f` goes out of scope. */
    mp_client_free(client);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
    mp_replay_stop(replay);
}

/* ---------------------------------------------------------------- header secrets */

/* Credentials in headers never come back out. tests/fixtures/replay/echo-headers.yaml is a gateway
 * that refuses every model call and model-list request with a 401 echoing every request header with
 * its value. For each sensitive header form, in the provider's `headers` or in a send's
 * `requestHeaders`, streaming and not: the secret is in no error message or error JSON (of
 * mp_session_send_and_wait, mp_session_send_async and mp_client_list_models), no event (callbacks and
 * mp_session_get_events) and no stop report. Each form and place has a secret of its own.
 *
 * That the server received each header with its value: this reads the echo itself, not the recorded
 * requests (mp_replay_requests), so that no string the test handles holds the raw secret. The request count grows, and the echo lists the header as
 * "<name>: [redacted]": the core scrubs by value (the configured secret texts), so that entry means the
 * server received the header carrying exactly the secret (a dropped header is not listed, a different
 * value would show as is). The plain header "x-team: blue" in the echo shows values are echoed at all. */
typedef struct {
    const char *name;
    const char *lower;
    const char *secret;
    bool bearer;
} header_form;

static const header_form HEADER_FORMS[] = {
    {"api-key", "api-key", "APIKEY-2a7f1c", false},
    {"x-api-key", "x-api-key", "XAPIKEY-e480b3", false},
    {"Authorization", "authorization", "AUTHZ-9b36d0", true},
    {"Ocp-Apim-Subscription-Key", "ocp-apim-subscription-key", "APIM-51ce8f", false},
};
#define HEADER_FORM_COUNT (sizeof HEADER_FORMS / sizeof HEADER_FORMS[0])
static const char *HEADER_PLACES[] = {"provider", "send"};

static void header_secret(char *out, size_t n, size_t form, size_t place) {
    snprintf(out, n, "c-%s-%s", HEADER_PLACES[place], HEADER_FORMS[form].secret);
}

/* The first secret of any form and place found in `text` (written to `found`), or false. */
static bool header_leak(const char *text, char *found, size_t n) {
    for (size_t f = 0; f < HEADER_FORM_COUNT; f++) {
        for (size_t p = 0; p < 2; p++) {
            header_secret(found, n, f, p);
            if (contains(text, found)) return true;
        }
    }
    return false;
}

#define CHECK_NO_HEADER_SECRET(text, where)                                                       \
    do {                                                                                          \
        char leaked_[64];                                                                         \
        const char *text_ = (text);                                                               \
        CHECKF(!header_leak(text_, leaked_, sizeof leaked_), "%s: %s leaked into: %s", (where),   \
               leaked_, text_ ? text_ : "(null)");                                                \
    } while (0)

/* The echo came back, listing `lower` with its value scrubbed and the plain header as it was. */
static void check_echo_scrubbed(const char *message, const char *lower, const char *where) {
    char entry[128];
    snprintf(entry, sizeof entry, "%s: [redacted]", lower);
    CHECKF(contains(message, "(request headers:"), "%s: %s", where, message ? message : "(null)");
    CHECKF(contains(message, entry), "%s: no \"%s\" in %s", where, entry, message ? message : "(null)");
    CHECKF(contains(message, "x-team: blue"), "%s: %s", where, message ? message : "(null)");
}

/* A non-blocking send's failure, as its done callback saw it. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    bool had_result;
    mp_status status;
    char *error;
    char *error_json;
} failed_send;

static void on_failed_send(void *user_data, mp_status status, const char *result_json, const char *error) {
    failed_send *w = user_data;
    pthread_mutex_lock(&w->mu);
    w->status = status;
    w->had_result = result_json != NULL;
    w->error = error ? strdup(error) : NULL;
    w->error_json = strdup(mp_last_error_json());
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void header_secret_case(const char *root, const char *type, size_t f, size_t place, bool streaming) {
    const header_form *form = &HEADER_FORMS[f];
    char where[256];
    snprintf(where, sizeof where, "%s %s in %s, streaming=%d", type, form->name,
             place == 0 ? "provider headers" : "requestHeaders", streaming);
    char secret[64];
    header_secret(secret, sizeof secret, f, place);
    char value[96];
    snprintf(value, sizeof value, "%s%s", form->bearer ? "Bearer " : "", secret);
    char entry[192];
    snprintf(entry, sizeof entry, "\"%s\": \"%s\"", form->name, value);

    mp_replay *replay = start_replay(root, "tests/fixtures/replay/echo-headers.yaml", NULL);
    const char *base = strcmp(type, "openai") == 0 ? mp_replay_openai_url(replay) : mp_replay_url(replay);
    char provider[512];
    snprintf(provider, sizeof provider, "{\"type\": \"%s\", \"baseUrl\": \"%s\", \"headers\": {%s%s\"x-team\": \"blue\"}}",
             type, base, place == 0 ? entry : "", place == 0 ? ", " : "");
    char options[640];
    snprintf(options, sizeof options, "{\"provider\": %s, \"retry\": {\"maxRetries\": 0}}", provider);
    char config[700];
    snprintf(config, sizeof config, "{\"model\": \"echo-model\", \"streaming\": %s, \"provider\": %s}",
             streaming ? "true" : "false", provider);
    char send[256];
    if (place == 0) {
        snprintf(send, sizeof send, "{\"prompt\": \"Hello\"}");
    } else {
        snprintf(send, sizeof send, "{\"prompt\": \"Hello\", \"requestHeaders\": {%s}}", entry);
    }

    mp_client *client = NULL;
    CHECK_OK(mp_client_new(options, &client));
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    recorder all;
    recorder_init(&all);
    mp_subscription *sub = NULL;
    CHECK_OK(mp_session_on(session, NULL, on_event, &all, &sub));

    /* Non-blocking send first: the error reaches the done callback (message and error JSON). */
    uint64_t before = 0, after = 0;
    CHECK_OK(mp_replay_request_count(replay, &before));
    failed_send w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    CHECK_OK(mp_session_send_async(session, send, 0, on_failed_send, &w));
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    CHECK_STATUS(MP_ERR_AUTH, w.status);
    CHECK(!w.had_result);
    CHECK_OK(mp_replay_request_count(replay, &after));
    CHECKF(after > before, "%s: the async model call reached the server", where);
    check_echo_scrubbed(w.error, form->lower, where);
    CHECKF(json_is(w.error_json, "/code", "auth"), "%s: %s", where, w.error_json ? w.error_json : "(null)");
    CHECK_NO_HEADER_SECRET(w.error, where);
    CHECK_NO_HEADER_SECRET(w.error_json, where);
    free(w.error);
    free(w.error_json);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);

    /* Blocking send: it returns after the callbacks have seen its events, the first send's too. */
    CHECK_OK(mp_replay_request_count(replay, &before));
    char *result = NULL;
    CHECK_STATUS(MP_ERR_AUTH, mp_session_send_and_wait(session, send, 0, &result));
    CHECK(result == NULL);
    char *message = strdup(mp_last_error_message());
    char *error_json = strdup(mp_last_error_json());
    CHECK_OK(mp_replay_request_count(replay, &after));
    CHECKF(after > before, "%s: the model call reached the server", where);
    check_echo_scrubbed(message, form->lower, where);
    CHECKF(json_is(error_json, "/code", "auth"), "%s: %s", where, error_json);
    char *json_message = json_get(error_json, "/message");
    check_echo_scrubbed(json_message, form->lower, where);
    free(json_message);
    CHECK_NO_HEADER_SECRET(message, where);
    CHECK_NO_HEADER_SECRET(error_json, where);
    free(message);
    free(error_json);

    /* The model list (provider headers only: per-send headers belong to one send). */
    if (place == 0) {
        CHECK_OK(mp_replay_request_count(replay, &before));
        char *models = NULL;
        CHECK_STATUS(MP_ERR_AUTH, mp_client_list_models(client, &models));
        CHECK(models == NULL);
        message = strdup(mp_last_error_message());
        error_json = strdup(mp_last_error_json());
        CHECK_OK(mp_replay_request_count(replay, &after));
        CHECKF(after > before, "%s: the model-list request reached the server", where);
        check_echo_scrubbed(message, form->lower, where);
        CHECKF(contains(message, "model list"), "%s: %s", where, message);
        CHECK_NO_HEADER_SECRET(message, where);
        CHECK_NO_HEADER_SECRET(error_json, where);
        free(message);
        free(error_json);
    }

    /* Events: through the callback and the persisted list. */
    CHECKF(count_type(&all, "session.error") == 2, "%s: %zu session.error events", where,
           count_type(&all, "session.error"));
    pthread_mutex_lock(&all.mu);
    for (size_t i = 0; i < all.n; i++) CHECK_NO_HEADER_SECRET(all.jsons[i], where);
    pthread_mutex_unlock(&all.mu);
    char *events = NULL;
    CHECK_OK(mp_session_get_events(session, &events));
    CHECKF(contains(events, "\"session.error\""), "%s: %s", where, events ? events : "(null)");
    CHECK_NO_HEADER_SECRET(events, where);
    mp_string_free(events);

    mp_subscription_free(sub);
    mp_session_free(session);
    char *stop_errors = NULL;
    CHECK_OK(mp_client_stop(client, &stop_errors));
    CHECK(stop_errors != NULL && strcmp(stop_errors, "[]") == 0);
    mp_string_free(stop_errors);
    mp_client_free(client);
    recorder_free(&all);
    mp_replay_stop(replay);
}

/* ---------------------------------------------------------------- durable sessions */

static char *session_config(const char *url, const char *id) {
    const char *fmt =
        "{\"sessionId\": \"%s\", \"model\": \"YOUR-DEPLOYMENT-NAME\", \"provider\": {\"type\": \"openai\","
        " \"baseUrl\": \"%s/openai/v1/\", \"wireApi\": \"responses\", \"apiKey\": \"sk-test-SECRET-42\"}}";
    size_t n = strlen(fmt) + strlen(url) + strlen(id);
    char *json = malloc(n);
    snprintf(json, n, fmt, id, url);
    return json;
}

static char *client_options(const char *store) {
    size_t n = strlen(store) + 32;
    char *json = malloc(n);
    snprintf(json, n, "{\"sessionStore\": \"%s\"}", store);
    return json;
}

/* The child: creates the session, completes one send and exits without freeing or stopping anything. */
static int durable_child(const char *store, const char *url, const char *id) {
    char *options = client_options(store);
    char *config = session_config(url, id);
    mp_client *client = NULL;
    mp_session *session = NULL;
    char *result = NULL;
    if (mp_client_new(options, &client) != MP_OK || mp_client_create_session(client, config, NULL, 0, &session) != MP_OK ||
        mp_session_send_and_wait(session, "{\"prompt\": \"What is 2+2?\"}", 0, &result) != MP_OK) {
        fprintf(stderr, "child: %s\n", mp_last_error_message());
        return 1;
    }
    exit(json_is(result, "/data/content", "2 + 2 = 4.") ? 0 : 3);
}

/* Whether any file in `dir` contains `needle` (byte search: the files are binary). */
static bool dir_contains(const char *dir, const char *needle) {
    bool found = false;
    size_t len = strlen(needle);
    DIR *d = opendir(dir);
    struct dirent *entry;
    while (d != NULL && (entry = readdir(d)) != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL) continue;
        char buf[65536];
        size_t kept = 0, got;
        while ((got = fread(buf + kept, 1, sizeof buf - kept, f)) > 0) {
            size_t n = kept + got;
            for (size_t i = 0; i + len <= n && !found; i++) found = memcmp(buf + i, needle, len) == 0;
            kept = n < len ? n : len - 1; /* keep a tail so a match across two reads is seen */
            memmove(buf, buf + n - kept, kept);
        }
        fclose(f);
    }
    if (d != NULL) closedir(d);
    return found;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *entry;
    while (d != NULL && (entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        unlink(path);
    }
    if (d != NULL) closedir(d);
    rmdir(dir);
}

/* The durable-session suite on `store`; `dir` is the SQLite file's directory (NULL for PostgreSQL, whose
 * database other suites share: ids are unique to this process and only its own sessions are checked). */
static void durable_suite(const char *root, const char *self, const char *store, const char *dir) {
    char first[64], second[64];
    snprintf(first, sizeof first, "c-first-%ld", (long)getpid());
    snprintf(second, sizeof second, "c-child-%ld", (long)getpid());
    char path[4096];
    snprintf(path, sizeof path, "%s/bindings-ffi/tests/fixtures/two-turns.yaml", root);
    mp_replay *replay = NULL;
    CHECK_OK(mp_replay_start(path, NULL, &replay));
    const char *url = mp_replay_url(replay);
    char *options = client_options(store);
    char *resume_config = provider_config(url, false);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new(options, &client));

    /* One session, one send, then freed: it stays in the store. */
    char *config = session_config(url, first);
    mp_session *session = NULL;
    char *result = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"What is 2+2?\"}", 0, &result));
    mp_string_free(result);
    mp_session_free(session);

    char *json = NULL;
    CHECK_OK(mp_client_list_sessions(client, &json));
    CHECKF(dir == NULL ? contains(json, first) : json_is(json, "/0/sessionId", first), "%s", json);
    mp_string_free(json);
    CHECK_OK(mp_client_get_session_metadata(client, first, &json));
    CHECKF(json_is(json, "/summary", "What is 2+2?") && json_is(json, "/model", "YOUR-DEPLOYMENT-NAME"), "%s",
           json ? json : "(null)");
    CHECK(contains(json, "\"startTime\":\"") && contains(json, "\"modifiedTime\":\""));
    mp_string_free(json);
    json = (char *)&json; /* must be reset to NULL */
    CHECK_OK(mp_client_get_session_metadata(client, "no-such-session", &json));
    CHECK(json == NULL);
    CHECK_OK(mp_client_get_last_session_id(client, &json));
    CHECK(json != NULL && (dir == NULL || strcmp(json, first) == 0));
    mp_string_free(json);

    /* The typed errors. */
    session = (mp_session *)&session;
    CHECK_STATUS(MP_ERR_SESSION_EXISTS, mp_client_create_session(client, config, NULL, 0, &session));
    CHECK(session == NULL);
    CHECK_STATUS(MP_ERR_SESSION_NOT_FOUND, mp_client_resume_session(client, "no-such-session", resume_config, NULL, 0, &session));
    CHECK(contains(mp_last_error_json(), "\"errorType\":\"session\""));
    CHECK(strcmp(mp_status_name(MP_ERR_SESSION_NOT_FOUND), "session_not_found") == 0);

    /* Held by this client: another client on the same store gets MP_ERR_SESSION_BUSY. */
    CHECK_OK(mp_client_resume_session(client, first, resume_config, NULL, 0, &session));
    mp_client *other = NULL;
    CHECK_OK(mp_client_new(options, &other));
    mp_session *refused = NULL;
    CHECK_STATUS(MP_ERR_SESSION_BUSY, mp_client_resume_session(other, first, resume_config, NULL, 0, &refused));
    CHECK_STATUS(MP_ERR_SESSION_BUSY, mp_client_delete_session(other, first, NULL));
    mp_client_free(other);

    /* The resumed session continues the conversation: the second answer matches only after the first. */
    CHECK_OK(mp_session_get_events(session, &json));
    CHECK(contains(json, "\"type\":\"session.resume\"") && json_is(json, "/5/data/eventCount", "5"));
    mp_string_free(json);
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"And 3+3?\"}", 0, &result));
    CHECKF(json_is(result, "/data/content", "3 + 3 = 6."), "%s", result ? result : "(null)");
    mp_string_free(result);

    int deleted = -1;
    CHECK_OK(mp_client_delete_session(client, first, &deleted));
    CHECK(deleted == 1);
    CHECK_OK(mp_client_delete_session(client, first, &deleted));
    CHECK(deleted == 0);
    CHECK_OK(mp_client_get_session_metadata(client, first, &json));
    CHECK(json == NULL);
    mp_session_free(session);

    /* Another process writes a session and exits without stopping; this one resumes it. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "--child", store, url, second, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    CHECK_OK(mp_client_resume_session(client, second, resume_config, NULL, 0, &session));
    CHECK_OK(mp_session_get_events(session, &json));
    CHECKF(json_is(json, "/0/type", "session.start") && json_is(json, "/1/data/content", "What is 2+2?") &&
               json_is(json, "/3/data/content", "2 + 2 = 4.") && json_is(json, "/5/type", "session.resume"),
           "%s", json);
    mp_string_free(json);
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"And 3+3?\"}", 0, &result));
    CHECKF(json_is(result, "/data/content", "3 + 3 = 6."), "%s", result ? result : "(null)");
    mp_string_free(result);
    mp_session_free(session);
    int deleted_child = 0;
    CHECK_OK(mp_client_delete_session(client, second, &deleted_child));
    CHECK(deleted_child == 1);

    CHECK(dir == NULL || !dir_contains(dir, "sk-test-SECRET-42"));
    mp_client_free(client);
    CHECK(dir == NULL || !dir_contains(dir, "sk-test-SECRET-42"));
    free(config);
    free(resume_config);
    free(options);
    mp_replay_stop(replay);
}

/* On a SQLite file, then on PostgreSQL when MODELPORT_TEST_PG_URL is set (required under CI=true). */
static void test_durable_sessions(const char *root, const char *self) {
    char dir[] = "/tmp/modelport-ffi-durable-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char store[4200];
    snprintf(store, sizeof store, "sqlite://%s/sessions.db", dir);
    durable_suite(root, self, store, dir);
    remove_dir(dir);
    const char *pg = getenv("MODELPORT_TEST_PG_URL");
    const char *ci = getenv("CI");
    if (pg != NULL && *pg != '\0') {
        durable_suite(root, self, pg, NULL);
    } else {
        bool required = ci != NULL && strcmp(ci, "true") == 0;
        check(!required, __FILE__, __LINE__, "MODELPORT_TEST_PG_URL is set",
              "CI=true requires the PostgreSQL tests (make test starts a cluster with scripts/with-pg.sh)");
        if (!required) printf("test_ffi: skipping PostgreSQL: MODELPORT_TEST_PG_URL is not set\n");
    }
}

static void test_header_secrets(const char *root) {
    const char *types[] = {"openai", "anthropic"};
    for (size_t t = 0; t < 2; t++)
        for (size_t f = 0; f < HEADER_FORM_COUNT; f++)
            for (size_t place = 0; place < 2; place++)
                for (int streaming = 0; streaming < 2; streaming++)
                    header_secret_case(root, types[t], f, place, streaming == 1);
}

/* ---------------------------------------------------------------- infinite sessions */

#define WINDOW 3000
#define ANSWER                                                                                         \
    "Noted. More words here. More words here. More words here. More words here. More words here. "     \
    "More words here. "

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

typedef struct {
    mp_session *session;
    int calls;
    mp_status status;
} compact_in_callback;

static void compact_callback(void *user_data, const char *type, const char *json) {
    (void)type;
    (void)json;
    compact_in_callback *c = user_data;
    if (c->calls++ == 0) c->status = mp_session_compact(c->session);
}

/* A replay provider with a small context window: 30 sends compact instead of failing, the events
 * reach the callback in a sane order, mp_session_compact compacts on demand (but not inside a
 * callback), and with infiniteSessions off an overlong send fails with MP_ERR_CONTEXT_LENGTH. */
static void test_infinite_sessions(const char *root) {
    char options[512];
    snprintf(options, sizeof options, "{\"fallback\": \"%s\", \"contextWindow\": %d}", ANSWER, WINDOW);
    mp_replay *replay = start_replay(root, "examples/replay/quickstart.yaml", options);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new("{\"sessionStore\": \"memory\"}", &client));
    char config[1024];
    snprintf(config, sizeof config,
             "{\"model\": \"c-model\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \"%s\","
             " \"maxPromptTokens\": %d}}",
             mp_replay_openai_url(replay), WINDOW * 9 / 10);
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    recorder events;
    recorder_init(&events);
    mp_subscription *sub = NULL;
    CHECK_OK(mp_session_on(session, NULL, on_event, &events, &sub));

    for (int i = 0; i < 30; i++) {
        char send[1024];
        int n = snprintf(send, sizeof send, "{\"prompt\": \"Note %d:", i);
        for (int k = 0; k < 12; k++) n += snprintf(send + n, sizeof send - n, " please keep this detail in mind.");
        snprintf(send + n, sizeof send - n, "\"}");
        char *result = NULL;
        CHECK_OK(mp_session_send_and_wait(session, send, 0, &result));
        CHECK(json_is(result, "/data/content", ANSWER));
        mp_string_free(result);
    }
    /* A background compaction may follow the last send. */
    for (int i = 0; i < 300 && count_type(&events, "session.compaction_start") !=
                                   count_type(&events, "session.compaction_complete");
         i++)
        sleep_ms(10);
    size_t completes = count_type(&events, "session.compaction_complete");
    CHECKF(completes >= 1, "%zu compactions", completes);
    CHECK(count_type(&events, "session.compaction_start") == completes);
    CHECK(count_type(&events, "session.error") == 0);
    CHECK(count_type(&events, "session.usage_info") >= 30);
    const char *complete = first_of(&events, "session.compaction_complete");
    CHECKF(complete && json_is(complete, "/data/success", "true"), "%s", complete ? complete : "(null)");
    const char *usage = first_of(&events, "session.usage_info");
    char *limit = usage ? json_get(usage, "/data/tokenLimit") : NULL;
    CHECKF(limit && atoi(limit) == WINDOW * 9 / 10, "%s", usage ? usage : "(null)");
    free(limit);
    /* Compactions open and close in turn, with only the summary call's usage between. */
    pthread_mutex_lock(&events.mu);
    bool compacting = false;
    bool ordered = true;
    for (size_t i = 0; i < events.n; i++) {
        const char *t = events.types[i];
        if (strcmp(t, "session.compaction_start") == 0) {
            ordered = ordered && !compacting;
            compacting = true;
        } else if (strcmp(t, "session.compaction_complete") == 0) {
            ordered = ordered && compacting;
            compacting = false;
        } else if (compacting) {
            ordered = ordered && strcmp(t, "assistant.usage") == 0;
        }
    }
    pthread_mutex_unlock(&events.mu);
    CHECK(ordered && !compacting);

    /* On demand: one more compaction (its events reach the callback on a runtime thread). */
    CHECK_OK(mp_session_compact(session));
    for (int i = 0; i < 300 && count_type(&events, "session.compaction_complete") == completes; i++)
        sleep_ms(10);
    CHECK(count_type(&events, "session.compaction_complete") == completes + 1);
    CHECK(strcmp(last_type(&events), "session.compaction_complete") == 0);
    CHECK_STATUS(MP_ERR_USAGE, mp_session_compact(NULL));

    /* Not inside a callback: it would wait for the send the callback belongs to. */
    compact_in_callback c = {session, 0, -1};
    mp_subscription *nested = NULL;
    CHECK_OK(mp_session_on(session, "assistant.message", compact_callback, &c, &nested));
    char *result = NULL;
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"One more.\"}", 0, &result));
    mp_string_free(result);
    CHECK_STATUS(MP_ERR_USAGE, c.status);
    mp_subscription_free(nested);
    mp_subscription_free(sub);
    mp_session_free(session);
    recorder_free(&events);
    mp_replay_stop(replay);

    /* Off: the provider's context-length error fails the send. */
    replay = start_replay(root, "examples/replay/quickstart.yaml", "{\"fallback\": \"ok\", \"contextWindow\": 200}");
    snprintf(config, sizeof config,
             "{\"model\": \"c-model\", \"infiniteSessions\": {\"enabled\": false}, \"provider\": {\"type\":"
             " \"openai\", \"baseUrl\": \"%s\"}}",
             mp_replay_openai_url(replay));
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    char send[2400];
    int n = snprintf(send, sizeof send, "{\"prompt\": \"");
    for (int k = 0; k < 400; k++) n += snprintf(send + n, sizeof send - n, "word ");
    snprintf(send + n, sizeof send - n, "\"}");
    CHECK_STATUS(MP_ERR_CONTEXT_LENGTH, mp_session_send_and_wait(session, send, 0, &result));
    CHECK(result == NULL);
    mp_session_free(session);
    mp_client_free(client);
    mp_replay_stop(replay);
}

/* ---------------------------------------------------------------- model controls */

/* The value at `pointer` of the replay's first recorded request equals `expected` (strings as they
 * are, anything else as compact JSON). */
static void check_first_request(mp_replay *replay, const char *pointer, const char *expected) {
    char *requests = NULL;
    CHECK_OK(mp_replay_requests(replay, &requests));
    char path[128];
    snprintf(path, sizeof path, "/0/body%s", pointer);
    char *value = NULL;
    CHECK_OK(mp_json_pointer(requests, path, &value));
    CHECKF(value != NULL && strcmp(value, expected) == 0, "%s: %s, not %s", pointer, value ? value : "(null)",
           expected);
    mp_string_free(value);
    mp_string_free(requests);
}

/* Model controls and the answer's shape: session options and a message's overrides reach the
 * provider's request as Chat Completions spells them (core maps them; the C ABI passes the JSON on). */
static void test_model_controls(const char *root) {
    const char *replay_options = "{\"fallback\": \"{\\\"ok\\\": true}\"}";
    char config[1024];

    mp_replay *replay = start_replay(root, "examples/replay/quickstart.yaml", replay_options);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new("{\"sessionStore\": \"memory\"}", &client));
    snprintf(config, sizeof config,
             "{\"model\": \"c-model\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \"%s\"},"
             " \"temperature\": 0.25, \"topP\": 0.5, \"seed\": 7, \"stop\": [\"END\"], \"maxOutputTokens\": 99,"
             " \"extraBody\": {\"custom_field\": {\"nested\": 1}}}",
             mp_replay_openai_url(replay));
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    char *result = NULL;
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"Anything\"}", 0, &result));
    mp_string_free(result);
    check_first_request(replay, "/temperature", "0.25");
    check_first_request(replay, "/top_p", "0.5");
    check_first_request(replay, "/seed", "7");
    check_first_request(replay, "/stop/0", "END");
    check_first_request(replay, "/max_completion_tokens", "99");
    check_first_request(replay, "/custom_field", "{\"nested\":1}");
    mp_session_free(session);
    mp_replay_stop(replay);

    /* A message's controls override the session's. */
    replay = start_replay(root, "examples/replay/quickstart.yaml", replay_options);
    snprintf(config, sizeof config,
             "{\"model\": \"c-model\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \"%s\"},"
             " \"temperature\": 0.25}",
             mp_replay_openai_url(replay));
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    CHECK_OK(mp_session_send_and_wait(
        session, "{\"prompt\": \"Anything\", \"temperature\": 0.75, \"extraBody\": {\"user\": \"u1\"}}", 0, &result));
    mp_string_free(result);
    check_first_request(replay, "/temperature", "0.75");
    check_first_request(replay, "/user", "u1");
    mp_session_free(session);
    mp_replay_stop(replay);

    /* A json_object responseFormat. */
    replay = start_replay(root, "examples/replay/quickstart.yaml", replay_options);
    snprintf(config, sizeof config,
             "{\"model\": \"c-model\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \"%s\"},"
             " \"responseFormat\": {\"type\": \"json_object\"}}",
             mp_replay_openai_url(replay));
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"Anything as JSON\"}", 0, &result));
    CHECKF(json_is(result, "/data/content", "{\"ok\": true}"), "%s", result ? result : "(null)");
    mp_string_free(result);
    check_first_request(replay, "/response_format", "{\"type\":\"json_object\"}");
    mp_session_free(session);
    mp_replay_stop(replay);
    mp_client_free(client);
}

/* ---------------------------------------------------------------- callbacks */

/* The conversations (bindings-ffi/tests/fixtures/callbacks.yaml) call a `lookup` tool answering
 * "value-of-<key>"; the expected texts of refused and failed calls are the ones the fixture records. */

static const char *LOOKUP_SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"key\":{\"type\":\"string\"}},\"required\":[\"key\"]}";

typedef struct {
    pthread_mutex_t mu;
    int calls;
    char keys[256]; /* the keys the handler got, each followed by ';' */
} lookup_state;

static void lookup_tool(void *user_data, const char *arguments, const char *invocation, mp_tool_result *result) {
    (void)invocation;
    lookup_state *st = user_data;
    char *key = json_get(arguments, "/key");
    pthread_mutex_lock(&st->mu);
    st->calls++;
    size_t used = strlen(st->keys);
    snprintf(st->keys + used, sizeof st->keys - used, "%s;", key ? key : "?");
    pthread_mutex_unlock(&st->mu);
    char text[128];
    snprintf(text, sizeof text, "value-of-%s", key ? key : "?");
    mp_tool_result_set_text(result, text);
    free(key);
}

/* The permission callback: its answer depends on the key the model asked for. */
typedef struct {
    pthread_mutex_t mu;
    int calls;
    int on_main_thread;
    char session_id[128];
    bool requests_ok; /* every request was {"kind": "custom-tool", "toolName": "lookup", "sessionId"} */
    mp_status set_status;
} permission_state;

static void decide(void *user_data, const char *request_json, mp_permission_reply *reply) {
    permission_state *st = user_data;
    char *key = json_get(request_json, "/arguments/key");
    const char *answer = NULL;
    if (key == NULL) {
        answer = NULL;
    } else if (strcmp(key, "a") == 0) {
        answer = "{\"kind\": \"approved\"}";
    } else if (strcmp(key, "s1") == 0 || strcmp(key, "s2") == 0) {
        answer = "{\"kind\": \"approve-for-session\"}";
    } else if (strcmp(key, "x") == 0) {
        answer = "{\"kind\": \"denied-interactively-by-user\", \"feedback\": \"not today\"}";
    } else if (strcmp(key, "u") == 0) {
        answer = "{\"kind\": \"user-not-available\"}";
    } else if (strcmp(key, "n") == 0) {
        answer = "{\"kind\": \"no-result\"}";
    } else if (strcmp(key, "q") == 0) {
        answer = "{\"kind\": "; /* not JSON: refused */
    }
    mp_status status = answer ? mp_permission_reply_set_json(reply, answer) : MP_OK;
    bool ok = json_is(request_json, "/kind", "custom-tool") && json_is(request_json, "/toolName", "lookup") &&
              json_is(request_json, "/sessionId", st->session_id);
    pthread_mutex_lock(&st->mu);
    st->calls++;
    if (pthread_equal(pthread_self(), main_thread)) st->on_main_thread++;
    st->requests_ok = st->requests_ok && ok;
    st->set_status = status;
    pthread_mutex_unlock(&st->mu);
    free(key);
}

/* The hook callback: what it answers depends on the hook and its input. */
typedef struct {
    pthread_mutex_t mu;
    int calls;
    int on_main_thread;
    char names[512]; /* the hooks called, each followed by ';' */
    bool inputs_ok;  /* every input had sessionId and timestamp */
    char end_reason[64];
} hook_state;

static void on_hook(void *user_data, const char *hook_name, const char *input_json, mp_hook_reply *reply) {
    hook_state *st = user_data;
    if (strcmp(hook_name, "onPreToolUse") == 0) {
        char *key = json_get(input_json, "/toolArgs/key");
        if (key && strcmp(key, "d") == 0) {
            mp_hook_reply_set_json(reply, "{\"permissionDecision\": \"deny\","
                                          " \"permissionDecisionReason\": \"lookups are off today\"}");
        } else if (key && strcmp(key, "m") == 0) {
            mp_hook_reply_set_json(reply, "{\"permissionDecision\": \"allow\", \"modifiedArgs\": {\"key\": \"b\"}}");
        } else if (key && strcmp(key, "f") == 0) {
            mp_hook_reply_set_error(reply, "policy service unreachable");
        }
        free(key);
    } else if (strcmp(hook_name, "onPostToolUse") == 0) {
        if (json_is(input_json, "/toolResult/textResultForLlm", "value-of-secret"))
            mp_hook_reply_set_json(reply, "{\"modifiedResult\": \"[redacted]\"}");
    } else if (strcmp(hook_name, "onUserPromptSubmitted") == 0) {
        if (json_is(input_json, "/prompt", "hello")) {
            mp_hook_reply_set_json(reply, "{\"modifiedPrompt\": \"hello (politely)\"}");
        } else if (json_is(input_json, "/prompt", "forbidden")) {
            mp_hook_reply_set_error(reply, "prompt filter crashed");
        } else {
            mp_hook_reply_set_json(reply, "null");
        }
    }
    char *session_id = json_get(input_json, "/sessionId");
    char *timestamp = json_get(input_json, "/timestamp");
    char *reason = strcmp(hook_name, "onSessionEnd") == 0 ? json_get(input_json, "/reason") : NULL;
    pthread_mutex_lock(&st->mu);
    st->calls++;
    if (pthread_equal(pthread_self(), main_thread)) st->on_main_thread++;
    size_t used = strlen(st->names);
    snprintf(st->names + used, sizeof st->names - used, "%s;", hook_name);
    st->inputs_ok = st->inputs_ok && session_id != NULL && timestamp != NULL;
    if (reason) snprintf(st->end_reason, sizeof st->end_reason, "%s", reason);
    pthread_mutex_unlock(&st->mu);
    free(session_id);
    free(timestamp);
    free(reason);
}

/* One session of the callback tests, with its tool, callbacks and recorded events. */
typedef struct {
    mp_session *session;
    mp_subscription *sub;
    recorder events;
    lookup_state lookup;
    permission_state permission;
    hook_state hooks;
    uint64_t first_request; /* the replay's request count when the session opened */
} cb_run;

static bool cb_open(cb_run *r, mp_replay *replay, mp_client *client, const char *hooks, bool permission) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lookup.mu, NULL);
    pthread_mutex_init(&r->permission.mu, NULL);
    pthread_mutex_init(&r->hooks.mu, NULL);
    r->permission.requests_ok = true;
    r->hooks.inputs_ok = true;
    recorder_init(&r->events);
    CHECK_OK(mp_replay_request_count(replay, &r->first_request));
    char config[512];
    snprintf(config, sizeof config,
             "{\"model\": \"callbacks-model\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \"%s\","
             " \"apiKey\": \"sk-test-SECRET-42\"}}",
             mp_replay_openai_url(replay));
    mp_tool tools[] = {{"lookup", "Looks a key up", LOOKUP_SCHEMA, lookup_tool, &r->lookup}};
    mp_session_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    if (permission) {
        callbacks.on_permission_request = decide;
        callbacks.permission_user_data = &r->permission;
    }
    if (hooks) {
        callbacks.hooks = hooks;
        callbacks.on_hook = on_hook;
        callbacks.hook_user_data = &r->hooks;
    }
    mp_status status = mp_client_create_session_ex(client, config, tools, 1, &callbacks, &r->session);
    CHECKF(status == MP_OK, "%s", mp_last_error_message());
    if (status != MP_OK) return false;
    snprintf(r->permission.session_id, sizeof r->permission.session_id, "%s", mp_session_id(r->session));
    CHECK_OK(mp_session_on(r->session, NULL, on_event, &r->events, &r->sub));
    return true;
}

static void cb_close(cb_run *r) {
    mp_subscription_free(r->sub);
    mp_session_free(r->session);
    recorder_free(&r->events);
    pthread_mutex_destroy(&r->lookup.mu);
    pthread_mutex_destroy(&r->permission.mu);
    pthread_mutex_destroy(&r->hooks.mu);
}

/* Sends `prompt` and checks the answer's text. */
static void cb_send(cb_run *r, const char *prompt, const char *expected) {
    char options[256];
    snprintf(options, sizeof options, "{\"prompt\": \"%s\"}", prompt);
    char *result = NULL;
    CHECK_OK(mp_session_send_and_wait(r->session, options, 0, &result));
    CHECKF(json_is(result, "/data/content", expected), "%s: %s", prompt, result ? result : "(null)");
    mp_string_free(result);
}

/* The content of the k-th message with `role` in the replay's request number `n` (counted from the
 * session's first), as the model received it (Chat Completions), or NULL; free() it. */
static char *message_sent(mp_replay *replay, const cb_run *r, int n, const char *role, int k) {
    char *requests = NULL;
    CHECK_OK(mp_replay_requests(replay, &requests));
    char *found = NULL;
    for (int i = 0; i < 64 && found == NULL; i++) {
        char path[128];
        snprintf(path, sizeof path, "/%d/body/messages/%d/role", (int)r->first_request + n, i);
        char *got = json_get(requests, path);
        if (got == NULL) break;
        bool match = strcmp(got, role) == 0;
        free(got);
        if (match && k-- == 0) {
            snprintf(path, sizeof path, "/%d/body/messages/%d/content", (int)r->first_request + n, i);
            found = json_get(requests, path);
        }
    }
    mp_string_free(requests);
    return found;
}

static void check_tool_sent(mp_replay *replay, const cb_run *r, int n, const char *expected) {
    char *sent = message_sent(replay, r, n, "tool", 0);
    CHECKF(sent != NULL && strcmp(sent, expected) == 0, "request %d: the model got %s, not %s", n,
           sent ? sent : "(null)", expected);
    free(sent);
}

static uint64_t cb_requests(mp_replay *replay, const cb_run *r) {
    uint64_t count = 0;
    CHECK_OK(mp_replay_request_count(replay, &count));
    return count - r->first_request;
}

/* `pointer` of the first event of `type` equals `expected`. */
static void check_first_event(recorder *events, const char *type, const char *pointer, const char *expected) {
    const char *json = first_of(events, type);
    char *value = json ? json_get(json, pointer) : NULL;
    CHECKF(value != NULL && strcmp(value, expected) == 0, "%s %s: %s, not %s", type, pointer, value ? value : "(null)",
           expected);
    free(value);
}

/* A refused call ends the turn: one model call, the handler never runs; the model gets the refusal
 * with the next message. */
static void check_refusal(mp_replay *replay, mp_client *client, const char *key, const char *refusal,
                          mp_status set_status) {
    cb_run r;
    if (!cb_open(&r, replay, client, NULL, true)) return;
    char prompt[64], answer[64];
    snprintf(prompt, sizeof prompt, "{\"prompt\": \"Look up %s.\"}", key);
    snprintf(answer, sizeof answer, "You declined the lookup of %s.", key);
    char *result = NULL;
    CHECK_OK(mp_session_send_and_wait(r.session, prompt, 0, &result));
    /* The send ends with the message that asked for the call. */
    CHECKF(json_is(result, "/data/toolRequests/0/name", "lookup"), "%s", result ? result : "(null)");
    mp_string_free(result);
    CHECKF(cb_requests(replay, &r) == 1, "%s: no model call after the refusal", key);
    CHECK(r.lookup.calls == 0);
    CHECK(r.permission.calls == 1 && r.permission.set_status == set_status);
    check_first_event(&r.events, "permission.completed", "/data/result/kind", "reject");
    check_first_event(&r.events, "tool.execution_complete", "/data/success", "false");
    check_first_event(&r.events, "tool.execution_complete", "/data/error/code", "denied");
    check_first_event(&r.events, "tool.execution_complete", "/data/result/content", refusal);
    cb_send(&r, "Why not?", answer);
    check_tool_sent(replay, &r, 1, refusal);
    cb_close(&r);
}

/* Each decision of the permission callback, and what the model received. */
static void test_permission_callback(const char *root) {
    mp_replay *replay = start_replay(root, "bindings-ffi/tests/fixtures/callbacks.yaml", NULL);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new("{\"sessionStore\": \"memory\"}", &client));
    cb_run r;

    /* Approved once. */
    if (cb_open(&r, replay, client, NULL, true)) {
        cb_send(&r, "Look up a.", "a is value-of-a.");
        CHECK(r.permission.calls == 1 && r.lookup.calls == 1);
        CHECK(r.permission.requests_ok);
        CHECK(r.permission.on_main_thread == 0);
        check_first_event(&r.events, "permission.requested", "/data/permissionRequest/toolName", "lookup");
        check_first_event(&r.events, "permission.completed", "/data/result/kind", "approve-once");
        check_tool_sent(replay, &r, 1, "value-of-a");
        cb_close(&r);
    }

    /* approve-for-session: the second call of the tool is not asked about. */
    if (cb_open(&r, replay, client, NULL, true)) {
        cb_send(&r, "Look up s1, then s2.", "s1 and s2 are known.");
        CHECKF(r.permission.calls == 1, "asked %d times", r.permission.calls);
        CHECK(r.lookup.calls == 2 && strcmp(r.lookup.keys, "s1;s2;") == 0);
        CHECK(count_type(&r.events, "permission.requested") == 1);
        check_first_event(&r.events, "permission.completed", "/data/result/kind", "approve-for-session");
        check_tool_sent(replay, &r, 1, "value-of-s1");
        check_tool_sent(replay, &r, 2, "value-of-s1");
        char *second = message_sent(replay, &r, 2, "tool", 1);
        CHECKF(second && strcmp(second, "value-of-s2") == 0, "%s", second ? second : "(null)");
        free(second);

        /* Resumed with its callbacks given again: the approval is remembered, the hooks installed. */
        char id[128];
        snprintf(id, sizeof id, "%s", mp_session_id(r.session));
        mp_subscription_free(r.sub);
        r.sub = NULL;
        mp_session_free(r.session);
        r.session = NULL;
        r.permission.calls = 0;
        char config[512];
        snprintf(config, sizeof config,
                 "{\"model\": \"callbacks-model\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \"%s\","
                 " \"apiKey\": \"sk-test-SECRET-42\"}}",
                 mp_replay_openai_url(replay));
        mp_tool tools[] = {{"lookup", "Looks a key up", LOOKUP_SCHEMA, lookup_tool, &r.lookup}};
        mp_session_callbacks callbacks;
        memset(&callbacks, 0, sizeof callbacks);
        callbacks.on_permission_request = decide;
        callbacks.permission_user_data = &r.permission;
        callbacks.hooks = "onPreToolUse";
        callbacks.on_hook = on_hook;
        callbacks.hook_user_data = &r.hooks;
        CHECK_OK(mp_client_resume_session_ex(client, id, config, tools, 1, &callbacks, &r.session));
        if (r.session != NULL) {
            cb_send(&r, "And s3?", "s3 is known too.");
            CHECKF(r.permission.calls == 0, "asked %d times after the resume", r.permission.calls);
            CHECK(strcmp(r.lookup.keys, "s1;s2;s3;") == 0);
            CHECKF(strcmp(r.hooks.names, "onPreToolUse;") == 0, "%s", r.hooks.names);
        }
        cb_close(&r);
    }

    /* Denied interactively with feedback; an answer that is not JSON refuses too, without feedback. */
    check_refusal(replay, client, "x", "The user rejected this tool call. Feedback: not today", MP_OK);
    check_refusal(replay, client, "q", "The user rejected this tool call.", MP_ERR_CONFIG);

    /* user-not-available and no-result: not run, the turn goes on. */
    if (cb_open(&r, replay, client, NULL, true)) {
        cb_send(&r, "Look up u.", "Nobody could approve the lookup of u.");
        CHECK(r.permission.calls == 1 && r.lookup.calls == 0);
        check_first_event(&r.events, "permission.completed", "/data/result/kind", "user-not-available");
        check_first_event(&r.events, "tool.execution_complete", "/data/error/code", "denied");
        check_tool_sent(replay, &r, 1, "The user is not available to approve this tool call, so it was not run.");
        cb_close(&r);
    }
    if (cb_open(&r, replay, client, NULL, true)) {
        cb_send(&r, "Look up n.", "No decision was made for n.");
        CHECK(r.permission.calls == 1 && r.lookup.calls == 0);
        check_first_event(&r.events, "permission.completed", "/data/result/kind", "no-result");
        check_tool_sent(replay, &r, 1, "No permission decision was made for this tool call, so it was not run.");
        cb_close(&r);
    }

    mp_client_free(client);
    mp_replay_stop(replay);
}

/* The hook.end events of `events` with success false whose error message contains `text`. */
static size_t failed_hooks(recorder *events, const char *text) {
    size_t n = 0;
    pthread_mutex_lock(&events->mu);
    for (size_t i = 0; i < events->n; i++) {
        if (strcmp(events->types[i], "hook.end") != 0) continue;
        char *message = json_get(events->jsons[i], "/data/error/message");
        n += json_is(events->jsons[i], "/data/success", "false") && contains(message, text);
        free(message);
    }
    pthread_mutex_unlock(&events->mu);
    return n;
}

/* Session hooks through the C callback: onPreToolUse deny and modifiedArgs, onPostToolUse
 * modifiedResult, onUserPromptSubmitted modifiedPrompt, failing hooks, onSessionEnd, and only the
 * installed hooks running. */
static void test_hook_callback(const char *root) {
    mp_replay *replay = start_replay(root, "bindings-ffi/tests/fixtures/callbacks.yaml", NULL);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new("{\"sessionStore\": \"memory\"}", &client));
    cb_run r;

    /* deny: the handler never runs (nor the permission callback); the model gets the reason. */
    if (cb_open(&r, replay, client, "onPreToolUse", true)) {
        cb_send(&r, "Look up d.", "No lookup today.");
        CHECK(r.lookup.calls == 0 && r.permission.calls == 0);
        check_tool_sent(replay, &r, 1, "The tool call `lookup` was denied by policy. Reason: lookups are off today");
        check_first_event(&r.events, "tool.execution_complete", "/data/error/code", "denied");
        /* Only the installed hook ran and was framed by hook.start / hook.end. */
        CHECKF(strcmp(r.hooks.names, "onPreToolUse;") == 0, "%s", r.hooks.names);
        CHECK(count_type(&r.events, "hook.start") == 1 && count_type(&r.events, "hook.end") == 1);
        check_first_event(&r.events, "hook.start", "/data/hookType", "preToolUse");
        check_first_event(&r.events, "hook.start", "/data/input/toolName", "lookup");
        check_first_event(&r.events, "hook.end", "/data/success", "true");
        check_first_event(&r.events, "hook.end", "/data/output/permissionDecision", "deny");
        CHECK(r.hooks.inputs_ok && r.hooks.on_main_thread == 0);
        cb_close(&r);
    }

    /* allow with modifiedArgs: the handler gets b, the permission callback is not asked. */
    if (cb_open(&r, replay, client, "onPreToolUse", true)) {
        cb_send(&r, "Look up m.", "m leads to b.");
        CHECKF(strcmp(r.lookup.keys, "b;") == 0, "%s", r.lookup.keys);
        CHECK(r.permission.calls == 0);
        check_first_event(&r.events, "tool.execution_start", "/data/arguments/key", "b");
        check_tool_sent(replay, &r, 1, "value-of-b");
        cb_close(&r);
    }

    /* onPostToolUse modifiedResult: the model never sees the handler's result; onSessionEnd runs
     * while the session is freed. */
    if (cb_open(&r, replay, client, " onPostToolUse, onSessionEnd ", false)) {
        cb_send(&r, "Look up secret.", "It is redacted.");
        CHECK(r.lookup.calls == 1);
        check_tool_sent(replay, &r, 1, "[redacted]");
        char *requests = NULL;
        CHECK_OK(mp_replay_requests(replay, &requests));
        CHECK(requests != NULL && !contains(requests, "value-of-secret"));
        mp_string_free(requests);
        check_first_event(&r.events, "hook.start", "/data/hookType", "postToolUse");
        mp_subscription_free(r.sub);
        r.sub = NULL;
        mp_session_free(r.session);
        r.session = NULL;
        CHECKF(strcmp(r.hooks.names, "onPostToolUse;onSessionEnd;") == 0, "%s", r.hooks.names);
        CHECKF(strcmp(r.hooks.end_reason, "user_exit") == 0, "%s", r.hooks.end_reason);
        cb_close(&r);
    }

    /* onUserPromptSubmitted modifiedPrompt: the request carries the new prompt. */
    if (cb_open(&r, replay, client, "onUserPromptSubmitted", false)) {
        cb_send(&r, "hello", "Hello to you too.");
        char *prompt = message_sent(replay, &r, 0, "user", 0);
        CHECKF(contains(prompt, "hello (politely)"), "%s", prompt ? prompt : "(null)");
        free(prompt);
        check_first_event(&r.events, "user.message", "/data/content", "hello (politely)");
        cb_close(&r);
    }

    /* Failing hooks: onPreToolUse fails its call (the turn goes on), onUserPromptSubmitted its send
     * (MP_ERR_HOOK); the session stays usable. */
    if (cb_open(&r, replay, client, "onPreToolUse,onUserPromptSubmitted", false)) {
        cb_send(&r, "Look up f.", "The check failed.");
        CHECK(r.lookup.calls == 0);
        check_tool_sent(replay, &r, 1, "The tool `lookup` could not run: a check before it failed.");
        const char *complete = first_of(&r.events, "tool.execution_complete");
        char *message = complete ? json_get(complete, "/data/error/message") : NULL;
        CHECKF(contains(message, "policy service unreachable"), "%s", complete ? complete : "(null)");
        free(message);
        CHECK(failed_hooks(&r.events, "policy service unreachable") == 1);

        char *result = NULL;
        CHECK_STATUS(MP_ERR_HOOK, mp_session_send_and_wait(r.session, "{\"prompt\": \"forbidden\"}", 0, &result));
        CHECK(result == NULL);
        CHECKF(contains(mp_last_error_message(), "prompt filter crashed"), "%s", mp_last_error_message());
        CHECK(json_is(mp_last_error_json(), "/code", "hook"));
        CHECK(failed_hooks(&r.events, "prompt filter crashed") == 1);

        cb_send(&r, "Look up g.", "g is value-of-g.");
        CHECK(strcmp(r.lookup.keys, "g;") == 0);
        CHECK(r.hooks.on_main_thread == 0);
        cb_close(&r);
    }

    /* Misuse: an unknown hook, hooks without a callback, a callback without hooks. */
    mp_session *session = (mp_session *)&session;
    mp_session_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    hook_state unused;
    memset(&unused, 0, sizeof unused);
    callbacks.hooks = "onPreToolUse,onNothing";
    callbacks.on_hook = on_hook;
    callbacks.hook_user_data = &unused;
    const char *config = "{\"model\": \"callbacks-model\"}";
    CHECK_STATUS(MP_ERR_CONFIG, mp_client_create_session_ex(client, config, NULL, 0, &callbacks, &session));
    CHECK(session == NULL);
    CHECKF(contains(mp_last_error_message(), "\"onNothing\" is not a session hook"), "%s", mp_last_error_message());
    callbacks.hooks = "onPreToolUse";
    callbacks.on_hook = NULL;
    CHECK_STATUS(MP_ERR_USAGE, mp_client_create_session_ex(client, config, NULL, 0, &callbacks, &session));
    CHECKF(contains(mp_last_error_message(), "on_hook is NULL"), "%s", mp_last_error_message());
    callbacks.hooks = NULL;
    callbacks.on_hook = on_hook;
    CHECK_STATUS(MP_ERR_USAGE, mp_client_create_session_ex(client, config, NULL, 0, &callbacks, &session));
    CHECKF(contains(mp_last_error_message(), "names no hook"), "%s", mp_last_error_message());
    CHECK(unused.calls == 0);

    mp_client_free(client);
    mp_replay_stop(replay);
}

/* A bearer token provider: gives `token` (with `expires_at_ms`, 0 for none), or the error "vault
 * sealed" when `token` is NULL, or nothing at all when `silent`. */
typedef struct {
    pthread_mutex_t mu;
    int calls;
    int on_main_thread;
    const char *token;
    uint64_t expires_at_ms;
    bool silent;
} token_state;

static void give_token(void *user_data, mp_token_reply *reply) {
    token_state *st = user_data;
    if (st->silent) {
        /* answers nothing */
    } else if (st->token != NULL) {
        mp_token_reply_set_token(reply, st->token, st->expires_at_ms);
    } else {
        mp_token_reply_set_error(reply, "vault sealed");
    }
    pthread_mutex_lock(&st->mu);
    st->calls++;
    if (pthread_equal(pthread_self(), main_thread)) st->on_main_thread++;
    pthread_mutex_unlock(&st->mu);
}

static void token_init(token_state *st, const char *token, uint64_t expires_at_ms) {
    memset(st, 0, sizeof *st);
    pthread_mutex_init(&st->mu, NULL);
    st->token = token;
    st->expires_at_ms = expires_at_ms;
}

/* The Authorization header of the replay's request number `n`. */
static void check_authorization(mp_replay *replay, uint64_t n, const char *expected) {
    char *requests = NULL;
    CHECK_OK(mp_replay_requests(replay, &requests));
    char path[64];
    snprintf(path, sizeof path, "/%d/headers/authorization", (int)n);
    char *value = json_get(requests, path);
    CHECKF(value != NULL && strcmp(value, expected) == 0, "request %d: authorization %s, not %s", (int)n,
           value ? value : "(null)", expected);
    free(value);
    mp_string_free(requests);
}

static uint64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* A session with the bearer token provider `st` on a provider without a key, at `base_url`. */
static mp_status token_session(mp_client *client, const char *base_url, token_state *st, mp_session **session) {
    char config[512];
    snprintf(config, sizeof config,
             "{\"model\": \"callbacks-model\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \"%s\"}}", base_url);
    mp_session_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.bearer_token_provider = give_token;
    callbacks.token_user_data = st;
    return mp_client_create_session_ex(client, config, NULL, 0, &callbacks, session);
}

static void test_token_callback(const char *root) {
    mp_replay *replay = start_replay(root, "bindings-ffi/tests/fixtures/callbacks.yaml", NULL);
    const char *url = mp_replay_openai_url(replay);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new("{\"sessionStore\": \"memory\", \"retry\": {\"maxRetries\": 0}}", &client));
    char *result = NULL;
    uint64_t base = 0, after = 0;

    /* No expiry: asked before every request; each carries the token. */
    token_state st;
    token_init(&st, "tok-session-7f3a", 0);
    mp_session *session = NULL;
    CHECK_OK(mp_replay_request_count(replay, &base));
    CHECK_OK(token_session(client, url, &st, &session));
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"Who am I?\"}", 0, &result));
    CHECK(json_is(result, "/data/content", "You are signed in."));
    mp_string_free(result);
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"Still?\"}", 0, &result));
    CHECK(json_is(result, "/data/content", "Still signed in."));
    mp_string_free(result);
    check_authorization(replay, base, "Bearer tok-session-7f3a");
    check_authorization(replay, base + 1, "Bearer tok-session-7f3a");
    CHECKF(st.calls == 2, "%d calls", st.calls);
    CHECK(st.on_main_thread == 0);
    char *events = NULL;
    CHECK_OK(mp_session_get_events(session, &events));
    CHECK(events != NULL && !contains(events, "tok-session-7f3a"));
    mp_string_free(events);
    mp_session_free(session);
    pthread_mutex_destroy(&st.mu);

    /* An expiry an hour away: one call serves both requests. */
    token_init(&st, "tok-expiring-2c9e", now_ms() + 3600 * 1000);
    CHECK_OK(mp_replay_request_count(replay, &base));
    CHECK_OK(token_session(client, url, &st, &session));
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"Who am I?\"}", 0, &result));
    mp_string_free(result);
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"Still?\"}", 0, &result));
    CHECK(json_is(result, "/data/content", "Still signed in."));
    mp_string_free(result);
    check_authorization(replay, base + 1, "Bearer tok-expiring-2c9e");
    CHECKF(st.calls == 1, "%d calls", st.calls);
    mp_session_free(session);
    pthread_mutex_destroy(&st.mu);

    /* An error from the callback, or no answer at all: MP_ERR_AUTH, and no request is sent. */
    for (int silent = 0; silent < 2; silent++) {
        token_init(&st, NULL, 0);
        st.silent = silent == 1;
        CHECK_OK(mp_replay_request_count(replay, &base));
        CHECK_OK(token_session(client, url, &st, &session));
        CHECK_STATUS(MP_ERR_AUTH, mp_session_send_and_wait(session, "{\"prompt\": \"Who am I?\"}", 0, &result));
        CHECK(result == NULL);
        const char *expected = silent ? "set no token" : "vault sealed";
        CHECKF(contains(mp_last_error_message(), expected), "%s", mp_last_error_message());
        CHECK(json_is(mp_last_error_json(), "/code", "auth"));
        CHECK_OK(mp_replay_request_count(replay, &after));
        CHECK(after == base);
        CHECK(st.calls >= 1);
        mp_session_free(session);
        pthread_mutex_destroy(&st.mu);
    }

    /* A token provider needs a provider to belong to. */
    token_init(&st, "tok-unused", 0);
    mp_session_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.bearer_token_provider = give_token;
    callbacks.token_user_data = &st;
    CHECK_STATUS(MP_ERR_CONFIG,
                 mp_client_create_session_ex(client, "{\"model\": \"callbacks-model\"}", NULL, 0, &callbacks, &session));
    CHECKF(contains(mp_last_error_message(), "has no \"provider\""), "%s", mp_last_error_message());
    mp_client_callbacks client_callbacks;
    memset(&client_callbacks, 0, sizeof client_callbacks);
    client_callbacks.bearer_token_provider = give_token;
    client_callbacks.token_user_data = &st;
    mp_client *other = (mp_client *)&other;
    CHECK_STATUS(MP_ERR_CONFIG, mp_client_new_ex("{\"sessionStore\": \"memory\"}", &client_callbacks, &other));
    CHECK(other == NULL);
    CHECK(st.calls == 0);
    pthread_mutex_destroy(&st.mu);
    mp_client_free(client);

    /* The client's default provider: sessions that name none use its token provider. */
    token_init(&st, "tok-client-51c2", 0);
    char options[512];
    snprintf(options, sizeof options,
             "{\"sessionStore\": \"memory\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \"%s\"}}", url);
    CHECK_OK(mp_client_new_ex(options, &client_callbacks, &client));
    CHECK_OK(mp_replay_request_count(replay, &base));
    CHECK_OK(mp_client_create_session(client, "{\"model\": \"callbacks-model\"}", NULL, 0, &session));
    CHECK_OK(mp_session_send_and_wait(session, "{\"prompt\": \"Who am I?\"}", 0, &result));
    CHECK(json_is(result, "/data/content", "You are signed in."));
    mp_string_free(result);
    check_authorization(replay, base, "Bearer tok-client-51c2");
    CHECK(st.calls == 1);
    mp_session_free(session);
    mp_client_free(client);
    pthread_mutex_destroy(&st.mu);
    mp_replay_stop(replay);

    /* A gateway echoing the request's headers in its 401: the echo shows the header was sent, with the
     * token scrubbed from the error. */
    replay = start_replay(root, "tests/fixtures/replay/echo-headers.yaml", NULL);
    CHECK_OK(mp_client_new("{\"sessionStore\": \"memory\", \"retry\": {\"maxRetries\": 0}}", &client));
    token_init(&st, "tok-echo-SECRET-90d1", 0);
    CHECK_OK(token_session(client, mp_replay_openai_url(replay), &st, &session));
    CHECK_STATUS(MP_ERR_AUTH, mp_session_send_and_wait(session, "{\"prompt\": \"Hello\"}", 0, &result));
    CHECKF(contains(mp_last_error_message(), "authorization: Bearer [redacted]"), "%s", mp_last_error_message());
    CHECKF(!contains(mp_last_error_message(), "tok-echo-SECRET-90d1"), "%s", mp_last_error_message());
    CHECK(!contains(mp_last_error_json(), "tok-echo-SECRET-90d1"));
    CHECK_OK(mp_session_get_events(session, &events));
    CHECK(contains(events, "session.error") && !contains(events, "tok-echo-SECRET-90d1"));
    mp_string_free(events);
    mp_session_free(session);
    mp_client_free(client);
    pthread_mutex_destroy(&st.mu);
    mp_replay_stop(replay);
}

/* onListModels: gives `json`, or the error `error`. */
typedef struct {
    pthread_mutex_t mu;
    int calls;
    int on_main_thread;
    const char *json;
    const char *error;
    mp_status set_status;
} models_state;

static void list_models(void *user_data, mp_list_models_reply *reply) {
    models_state *st = user_data;
    mp_status status = st->json ? mp_list_models_reply_set_json(reply, st->json)
                                : mp_list_models_reply_set_error(reply, st->error);
    pthread_mutex_lock(&st->mu);
    st->calls++;
    st->set_status = status;
    if (pthread_equal(pthread_self(), main_thread)) st->on_main_thread++;
    pthread_mutex_unlock(&st->mu);
}

static void test_list_models_callback(void) {
    const char *cases[][2] = {
        {"[{\"id\": \"team-model\", \"name\": \"Team Model\", \"capabilities\": {\"supports\": {\"vision\": true,"
         " \"reasoningEffort\": false}, \"limits\": {\"max_context_window_tokens\": 128000}}},"
         " {\"id\": \"small-model\", \"name\": \"Small\"}]",
         NULL},
        {NULL, "catalog offline"},
        {"[{\"id\": 7}]", NULL},
    };
    for (size_t c = 0; c < 3; c++) {
        models_state st;
        memset(&st, 0, sizeof st);
        pthread_mutex_init(&st.mu, NULL);
        st.json = cases[c][0];
        st.error = cases[c][1];
        mp_client_callbacks callbacks;
        memset(&callbacks, 0, sizeof callbacks);
        callbacks.on_list_models = list_models;
        callbacks.list_models_user_data = &st;
        mp_client *client = NULL;
        CHECK_OK(mp_client_new_ex("{\"sessionStore\": \"memory\"}", &callbacks, &client));
        char *models = NULL;
        if (c == 0) {
            /* What the callback gave, in the shape mp_client_list_models documents; kept for the
             * client's life. */
            for (int i = 0; i < 2; i++) {
                CHECK_OK(mp_client_list_models(client, &models));
                CHECKF(json_is(models, "/0/id", "team-model") && json_is(models, "/0/name", "Team Model") &&
                           json_is(models, "/0/capabilities/supports/vision", "true") &&
                           json_is(models, "/0/capabilities/limits/max_context_window_tokens", "128000") &&
                           json_is(models, "/1/id", "small-model") && json_is(models, "/1/name", "Small"),
                       "%s", models ? models : "(null)");
                mp_string_free(models);
            }
            CHECK(st.calls == 1 && st.set_status == MP_OK);
        } else {
            /* A failure is MP_ERR_CONFIG with the callback's message, and is not kept. */
            const char *expected = c == 1 ? "catalog offline" : "mp_list_models_reply_set_json";
            for (int i = 0; i < 2; i++) {
                CHECK_STATUS(MP_ERR_CONFIG, mp_client_list_models(client, &models));
                CHECK(models == NULL);
                CHECKF(contains(mp_last_error_message(), expected), "%s", mp_last_error_message());
            }
            CHECK(st.calls == 2);
            CHECK(st.set_status == (c == 1 ? MP_OK : MP_ERR_CONFIG));
        }
        CHECK(st.on_main_thread == 0);
        mp_client_free(client);
        pthread_mutex_destroy(&st.mu);
    }
}

/* ---------------------------------------------------------------- logs */

typedef struct {
    pthread_mutex_t mu;
    int records;
    int attempts_500; /* debug records of an HTTP attempt answered 500 */
    bool wrong_level;
    bool secret;
} log_state;

static void on_log(void *user_data, const char *level, const char *target, const char *message) {
    log_state *st = user_data;
    pthread_mutex_lock(&st->mu);
    st->records++;
    if (strcmp(target, "modelport::transport::call") == 0 && strncmp(message, "http attempt", 12) == 0 &&
        contains(message, "status_code=500")) {
        st->attempts_500++;
        if (strcmp(level, "debug") != 0) st->wrong_level = true;
    }
    if (contains(message, "SECRET") || contains(target, "SECRET")) st->secret = true;
    pthread_mutex_unlock(&st->mu);
}

/* One send against an always-500 replay with one retry: two attempts, then MP_ERR_SERVER. */
static void failing_send(mp_client *client, mp_replay *replay) {
    char *config = provider_config(mp_replay_url(replay), false);
    mp_session *session = NULL;
    CHECK_OK(mp_client_create_session(client, config, NULL, 0, &session));
    char *result = NULL;
    CHECK_STATUS(MP_ERR_SERVER, mp_session_send_and_wait(session, "{\"prompt\": \"What is 2+2?\"}", 0, &result));
    CHECK(result == NULL);
    mp_session_free(session);
    free(config);
}

static int log_attempts(log_state *st) {
    pthread_mutex_lock(&st->mu);
    int n = st->attempts_500;
    st->attempts_500 = 0;
    pthread_mutex_unlock(&st->mu);
    return n;
}

/* The child of test_logs: MODELPORT_LOG=debug is set, so the client sends the records to stderr
 * and mp_set_log_handler is refused; what it got is printed on stdout. */
static int log_child(const char *url) {
    mp_client *client = NULL;
    mp_session *session = NULL;
    char *config = provider_config(url, false);
    char *result = NULL;
    if (mp_client_new("{\"retry\": {\"maxRetries\": 1, \"initialBackoffMs\": 5}}", &client) != MP_OK ||
        mp_client_create_session(client, config, NULL, 0, &session) != MP_OK) {
        fprintf(stderr, "log child: %s\n", mp_last_error_message());
        return 1;
    }
    mp_status sent = mp_session_send_and_wait(session, "{\"prompt\": \"What is 2+2?\"}", 0, &result);
    printf("send: %s\n", mp_status_name(sent));
    mp_status set = mp_set_log_handler("debug", on_log, NULL);
    printf("mp_set_log_handler: %s: %s\n", mp_status_name(set), mp_last_error_message());
    mp_string_free(result);
    mp_session_free(session);
    mp_client_free(client);
    free(config);
    return 0;
}

static void test_logs(const char *root, const char *self) {
    mp_replay *replay = start_replay(root, "bindings-ffi/tests/fixtures/server-error.yaml", NULL);
    mp_client *client = NULL;
    CHECK_OK(mp_client_new("{\"retry\": {\"maxRetries\": 1, \"initialBackoffMs\": 5}}", &client));

    log_state st;
    memset(&st, 0, sizeof st);
    pthread_mutex_init(&st.mu, NULL);
    CHECK_STATUS(MP_ERR_CONFIG, mp_set_log_handler("verbose", on_log, &st));
    CHECKF(contains(mp_last_error_message(), "error, warn, info, debug, trace or off"), "%s", mp_last_error_message());

    /* At debug: one record per attempt, delivered before the call that logged returns. */
    CHECK_OK(mp_set_log_handler("debug", on_log, &st));
    failing_send(client, replay);
    CHECKF(log_attempts(&st) == 2, "records: %d", st.records);
    CHECK(!st.wrong_level);
    CHECK(!st.secret);

    /* At warn the debug records are filtered out; removed, nothing arrives at any level. */
    CHECK_OK(mp_set_log_handler("warn", on_log, &st));
    failing_send(client, replay);
    CHECK(log_attempts(&st) == 0);
    CHECK_OK(mp_set_log_handler(NULL, NULL, NULL));
    pthread_mutex_lock(&st.mu);
    int before = st.records;
    pthread_mutex_unlock(&st.mu);
    failing_send(client, replay);
    CHECK(st.records == before);

    /* Another callback and user_data: records flow again, to it only. */
    log_state again;
    memset(&again, 0, sizeof again);
    pthread_mutex_init(&again.mu, NULL);
    CHECK_OK(mp_set_log_handler("debug", on_log, &again));
    failing_send(client, replay);
    CHECK(log_attempts(&again) == 2);
    CHECK(st.records == before);
    CHECK_OK(mp_set_log_handler("off", NULL, NULL));
    pthread_mutex_destroy(&again.mu);
    pthread_mutex_destroy(&st.mu);
    mp_client_free(client);

    /* MODELPORT_LOG=debug in a child: the records on stderr, mp_set_log_handler refused. */
    char out_path[] = "/tmp/mp-log-out-XXXXXX", err_path[] = "/tmp/mp-log-err-XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    CHECK(out_fd >= 0 && err_fd >= 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("MODELPORT_LOG", "debug", 1);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execl(self, self, "--log-child", mp_replay_url(replay), (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "log child status %d", status);
    close(out_fd);
    close(err_fd);
    char *out = read_file(out_path), *err = read_file(err_path);
    unlink(out_path);
    unlink(err_path);
    int lines = 0;
    for (const char *p = err; p != NULL && (p = strstr(p, "DEBUG modelport::transport::call: http attempt")) != NULL; p++) {
        const char *end = strchr(p, '\n');
        const char *code = strstr(p, "status_code=500");
        if (code != NULL && (end == NULL || code < end)) lines++;
    }
    CHECKF(lines == 2, "stderr:\n%s", err ? err : "(none)");
    CHECKF(contains(out, "send: server\n") && contains(out, "mp_set_log_handler: config: ") &&
               contains(out, "MODELPORT_LOG=debug") && contains(out, "call mp_set_log_handler before mp_client_new"),
           "stdout:\n%s", out ? out : "(none)");
    free(out);
    free(err);
    mp_replay_stop(replay);
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--child") == 0) return durable_child(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "--log-child") == 0) return log_child(argv[2]);
    /* The log tests expect no stderr logging in this process (it is process-wide). */
    unsetenv("MODELPORT_LOG");
    if (argc != 2) {
        fprintf(stderr, "usage: %s REPO_ROOT (or --child STORE_URL REPLAY_URL SESSION_ID)\n", argv[0]);
        return 2;
    }
    main_thread = pthread_self();
    const char *root = argv[1];
    test_basics();
    test_bad_config(root);
    test_text_turn(root);
    test_tool_call(root);
    test_streaming(root);
    test_send_async(root);
    test_abort_during_tool_then_failed_turn(root);
    test_abort_from_callback(root);
    test_list_models(root);
    test_unsubscribe_resume_and_stop(root);
    test_free_inside_callback(root);
    test_header_secrets(root);
    test_infinite_sessions(root);
    test_model_controls(root);
    test_permission_callback(root);
    test_hook_callback(root);
    test_token_callback(root);
    test_list_models_callback();
    test_durable_sessions(root, argv[0]);
    test_logs(root, argv[0]);
    printf("test_ffi: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
