/* publish_nats: push one event to Switchboard's browsers through NATS, with the
 * NATS C client (Debian's libnats-dev). The message is the v1 JSON of
 * docs/external-publishing.md, written by the caller:
 *
 *   publish_nats [-s nats://HOST:PORT] [-subject SUBJECT] 'JSON'
 *   publish_nats '{"t":"channel","channels":["lobby"],"e":"chat.message","p":[{"from":"ops","text":"hi"}]}'
 *
 * Defaults: -s $NATS_URL or nats://127.0.0.1:4222, -subject $SS_SUBJECT or
 * ss.event (the servers' nats.subject). It prints "sent" once the server has
 * processed the message (a flush: PING answered after the PUB). NATS does not
 * tell how many subscribers got it. Exit status 0 sent, 1 NATS error, 2 usage.
 *
 * Build: cc publish_nats.c -o publish_nats -lnats   (or the CMake target). */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
  fprintf(stderr, "usage: publish_nats [-s nats://HOST:PORT] [-subject SUBJECT] 'JSON'\n");
  return 2;
}

static int fail(const char *what, natsStatus s) {
  fprintf(stderr, "publish_nats: %s: %s\n", what, natsStatus_GetText(s));
  nats_PrintLastErrorStack(stderr);
  return 1;
}

int main(int argc, char **argv) {
  const char *url = getenv("NATS_URL") ? getenv("NATS_URL") : "nats://127.0.0.1:4222";
  const char *subject = getenv("SS_SUBJECT") ? getenv("SS_SUBJECT") : "ss.event";
  const char *message = NULL;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) url = argv[++i];
    else if (strcmp(argv[i], "-subject") == 0 && i + 1 < argc) subject = argv[++i];
    else if (message == NULL && argv[i][0] != '-') message = argv[i];
    else return usage();
  }
  if (message == NULL) return usage();

  natsConnection *nc = NULL;
  natsStatus s = natsConnection_ConnectTo(&nc, url);
  if (s != NATS_OK) return fail(url, s);
  s = natsConnection_PublishString(nc, subject, message);
  if (s == NATS_OK) s = natsConnection_FlushTimeout(nc, 5000);
  natsConnection_Destroy(nc);
  nats_Close();
  if (s != NATS_OK) return fail("publish", s);
  puts("sent");
  return 0;
}
