/*
 * The quickstart in C: create a session, print each assistant.message, ask "What is 2+2?".
 *
 * With MODELPORT_PROVIDER set (openai | azure | anthropic, plus MODELPORT_BASE_URL, MODELPORT_API_KEY,
 * MODELPORT_MODEL and optionally MODELPORT_WIRE_API) it talks to that provider. Otherwise it starts the
 * built-in replay provider with a recorded answer, configured like an Azure AI Foundry deployment,
 * and works offline.
 *
 *   make -C examples/c run
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modelport.h"

#ifndef MODELPORT_REPLAY_FILE
#define MODELPORT_REPLAY_FILE "examples/replay/quickstart.yaml"
#endif

/* session.on("assistant.message", event => console.log(event.data.content)) */
static void on_message(void *user_data, const char *event_type, const char *event_json) {
    (void)user_data;
    (void)event_type;
    char *content = NULL;
    if (mp_json_pointer(event_json, "/data/content", &content) == MP_OK && content != NULL) {
        printf("%s\n", content);
        fflush(stdout);
    }
    mp_string_free(content);
}

/* Appends `text` to `out`, truncating rather than overflowing. */
static void append(char *out, size_t size, const char *text) {
    size_t n = strlen(out);
    snprintf(out + n, size - n, "%s", text);
}

/* Appends `s` to `out` as a JSON string literal (with quotes), or `null` when `s` is NULL. */
static void json_string(char *out, size_t size, const char *s) {
    size_t n = strlen(out);
    if (s == NULL) {
        snprintf(out + n, size - n, "null");
        return;
    }
    if (n + 1 < size) out[n++] = '"';
    for (; *s != '\0' && n + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    if (n + 1 < size) out[n++] = '"';
    out[n] = '\0';
}

int main(void) {
    int rc = 1;
    mp_replay *replay = NULL;
    mp_client *client = NULL;
    mp_session *session = NULL;
    mp_subscription *subscription = NULL;
    char *answer = NULL;
    char config[8192] = "";

    if (getenv("MODELPORT_PROVIDER") != NULL) {
        append(config, sizeof config, "{\"model\": ");
        json_string(config, sizeof config, getenv("MODELPORT_MODEL"));
        append(config, sizeof config, ", \"provider\": {\"type\": ");
        json_string(config, sizeof config, getenv("MODELPORT_PROVIDER"));
        append(config, sizeof config, ", \"baseUrl\": ");
        json_string(config, sizeof config, getenv("MODELPORT_BASE_URL"));
        append(config, sizeof config, ", \"apiKey\": ");
        json_string(config, sizeof config, getenv("MODELPORT_API_KEY"));
        if (getenv("MODELPORT_WIRE_API") != NULL) {
            append(config, sizeof config, ", \"wireApi\": ");
            json_string(config, sizeof config, getenv("MODELPORT_WIRE_API"));
        }
        append(config, sizeof config, "}}");
    } else {
        if (mp_replay_start(MODELPORT_REPLAY_FILE, NULL, &replay) != MP_OK) goto fail;
        printf("(MODELPORT_PROVIDER is not set: answering from the built-in replay provider at %s, offline)\n",
               mp_replay_url(replay));
        /* Shaped like an Azure AI Foundry deployment: type "openai", the /openai/v1/ route, the
         * Responses wire API. */
        snprintf(config, sizeof config,
                 "{\"model\": \"YOUR-DEPLOYMENT-NAME\", \"provider\": {\"type\": \"openai\","
                 " \"baseUrl\": \"%s/openai/v1/\", \"wireApi\": \"responses\", \"apiKey\": \"not-needed-offline\"}}",
                 mp_replay_url(replay));
    }

    /* Sessions in memory here; by default they go to $MODELPORT_HOME/sessions.db (SQLite). */
    if (mp_client_new("{\"sessionStore\": \"memory\"}", &client) != MP_OK) goto fail;
    if (mp_client_create_session(client, config, NULL, 0, &session) != MP_OK) goto fail;
    if (mp_session_on(session, "assistant.message", on_message, NULL, &subscription) != MP_OK) goto fail;
    if (mp_session_send_and_wait(session, "{\"prompt\": \"What is 2+2?\"}", 0, &answer) != MP_OK) goto fail;
    if (mp_client_stop(client, NULL) != MP_OK) goto fail;
    rc = 0;
    goto done;

fail:
    fprintf(stderr, "modelport: %s\n", mp_last_error_message());
done:
    mp_string_free(answer);
    mp_subscription_free(subscription);
    mp_session_free(session);
    mp_client_free(client);
    mp_replay_stop(replay);
    return rc;
}
