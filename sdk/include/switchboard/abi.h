/*
 * switchboard/abi.h — the one thing that crosses the plugin boundary.
 *
 * Pure C (C99 and C++ compatible). A plugin is a shared object that exports one
 * symbol, SWITCHBOARD_PLUGIN_ENTRY (the ABI major version is part of its name),
 * returning a pointer to a static switchboard_plugin descriptor. The host (the
 * `switchboard` server or the conformance kit) checks the versions first and
 * refuses a major mismatch or a newer minor than it knows.
 *
 * Rules (docs/abi-policy.md, docs/threading.md):
 *  - Structs only grow by appending fields; every struct starts with struct_size
 *    and a reader never reads past it.
 *  - No exception, allocation or C++ type crosses. Errors are a status code plus a
 *    message written into a caller-owned buffer (err, err_len; always NUL-terminated,
 *    truncated when longer).
 *  - Every pointer argument is borrowed for the duration of the call unless its
 *    comment says otherwise. Copy what you keep.
 *  - Threads: host -> plugin calls come from one control thread, never concurrently,
 *    and never block for long. Plugin -> host calls (deliver, log, report_state,
 *    store completions) may come from any plugin thread. After stop() returns no
 *    host callback may arrive and the plugin's threads are joined.
 */
#ifndef SWITCHBOARD_ABI_H
#define SWITCHBOARD_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SWITCHBOARD_ABI_MAJOR 1
#define SWITCHBOARD_ABI_MINOR 3

/* The entry symbol. The major version is in the name, so a plugin for another
 * major fails to resolve at all instead of being misread. */
#define SWITCHBOARD_PLUGIN_ENTRY switchboard_plugin_entry_v1
#define SWITCHBOARD_PLUGIN_ENTRY_NAME "switchboard_plugin_entry_v1"

typedef enum switchboard_status {
  SWITCHBOARD_OK = 0,
  SWITCHBOARD_BACKPRESSURE = 1, /* publish: queue full; the message was dropped */
  SWITCHBOARD_NOT_FOUND = 2,    /* store: no such session (or expired) */
  SWITCHBOARD_LIMIT = 3,        /* store: a limit (e.g. max channels) would be exceeded */
  SWITCHBOARD_UNAVAILABLE = 4,  /* broker / store not reachable right now */
  SWITCHBOARD_INVALID = 5,      /* bad argument or configuration */
  SWITCHBOARD_ERROR = 6         /* anything else */
} switchboard_status;

typedef enum switchboard_state {
  SWITCHBOARD_STATE_STARTING = 0,
  SWITCHBOARD_STATE_CONNECTED = 1,
  SWITCHBOARD_STATE_RECONNECTING = 2,
  SWITCHBOARD_STATE_FAILED = 3,
  SWITCHBOARD_STATE_STOPPED = 4
} switchboard_state;

typedef enum switchboard_log_level {
  SWITCHBOARD_LOG_DEBUG = 0,
  SWITCHBOARD_LOG_INFO = 1,
  SWITCHBOARD_LOG_WARN = 2,
  SWITCHBOARD_LOG_ERROR = 3
} switchboard_log_level;

/* A borrowed byte string (not NUL-terminated). */
typedef struct switchboard_str {
  const char* data;
  size_t len;
} switchboard_str;

/* ---- Config schema: plugins describe their YAML subtree as data. ---------- */

typedef enum switchboard_config_type {
  SWITCHBOARD_CONFIG_STRING = 0,
  SWITCHBOARD_CONFIG_INT = 1,
  SWITCHBOARD_CONFIG_BOOL = 2,
  SWITCHBOARD_CONFIG_DURATION = 3, /* "250ms", "30s", "5m", "7d" -> milliseconds */
  SWITCHBOARD_CONFIG_STRING_LIST = 4
} switchboard_config_type;

typedef struct switchboard_config_key {
  uint32_t struct_size;
  const char* key;           /* e.g. "max_queue_messages" (no dots) */
  uint32_t type;             /* switchboard_config_type */
  const char* default_value; /* YAML scalar text; NULL = required */
  const char* doc;           /* one line for the config reference */
} switchboard_config_key;

/* The validated config handed to create(): one entry per scalar key (defaults
 * filled in, values normalised: ints and durations in decimal, durations in
 * milliseconds, bools "true"/"false"); a string list appears as one entry per
 * element, in order, under the same key (an empty list has no entry). */
typedef struct switchboard_config_entry {
  switchboard_str key;
  switchboard_str value;
} switchboard_config_entry;

/* ---- Host table: what a plugin instance may call. -------------------------- */

typedef struct switchboard_host {
  uint32_t struct_size;
  void* ctx; /* opaque; pass back as the first argument */

  /* Hand one message received from the bus to the host. Any thread; copies the
   * bytes and returns at once. Per bus topic call it from one thread at a time,
   * in broker order (the host keeps that order per connection). data may be NULL
   * only when len is 0. */
  void (*deliver)(void* ctx, const uint8_t* data, size_t len);

  /* Log a line (NUL-terminated). Any thread. */
  void (*log)(void* ctx, uint32_t level, const char* message);

  /* Report the connection state (switchboard_state) for /healthz and /metrics;
   * detail is an optional human-readable reason. Any thread. */
  void (*report_state)(void* ctx, uint32_t state, const char* detail);

  /* ---- 1.2 ---- */
  /* Add delta to the plugin's event counter `name` (NUL-terminated, 1 to 64 of
   * [a-z0-9_]; another name is ignored), shown in /metrics as
   * switchboard_plugin_events_total{plugin,component,event}: something the
   * plugin saw that an operator should see counted (messages a slow consumer
   * dropped, reconnects). At most 32 names per instance; more are ignored. Any
   * thread. A host older than 1.2 has no such field: call it only when
   * struct_size > SWITCHBOARD_HOST_SIZE_V1_1 (the SDK's Host::count does). */
  void (*count)(void* ctx, const char* name, uint64_t delta);
} switchboard_host;

/* The size of the host table as ABI 1.0/1.1 defined it. */
#define SWITCHBOARD_HOST_SIZE_V1_1 (offsetof(switchboard_host, report_state) + sizeof(void*))

/* ---- Transport: a bus that moves bytes. ------------------------------------ */

/* Every function of a vtable is called on the host's control thread (one thread,
 * never two calls at once) — except publish() of a plugin that declares
 * SWITCHBOARD_CAP_PUBLISH_ANY_THREAD (ABI 1.3), which any thread may call, never
 * during create/start/stop/destroy; `instance` is the pointer create() returned. */
typedef struct switchboard_transport_vtable {
  uint32_t struct_size; /* sizeof(switchboard_transport_vtable) the plugin was built with */

  /* Create an instance from the plugin's validated config (borrowed). host stays
   * valid until destroy(). *out is owned by the plugin and freed by destroy().
   * Must not start threads or connect yet. */
  switchboard_status (*create)(const switchboard_config_entry* config, size_t config_count,
                               const switchboard_host* host, void** out, char* err,
                               size_t err_len);
  /* Start connecting; must not block on the network. Report progress with
   * report_state. Return OK once started (even if not yet connected). */
  switchboard_status (*start)(void* instance, char* err, size_t err_len);
  /* Publish one message to the bus; every instance on the bus, this one included,
   * must deliver() it (self-echo). OK, BACKPRESSURE (dropped, counted by the host)
   * or UNAVAILABLE. Must not block. The bytes are borrowed. */
  switchboard_status (*publish)(void* instance, const uint8_t* data, size_t len, char* err,
                                size_t err_len);
  /* Stop: after return no callback arrives and every plugin thread is joined. */
  void (*stop)(void* instance);
  /* Free the instance (after stop). The host keeps the library loaded until
   * every instance is destroyed. */
  void (*destroy)(void* instance);
} switchboard_transport_vtable;

/* ---- Session store. -------------------------------------------------------- */

/* A session record, borrowed for the duration of the completion call. */
typedef struct switchboard_session_record {
  uint32_t struct_size;
  int32_t has_user;     /* 0: signed out */
  switchboard_str user; /* valid when has_user */
  const switchboard_str* channels;
  size_t channel_count;
  const switchboard_str* data_keys;   /* free-form data: key -> JSON text */
  const switchboard_str* data_values; /* each a complete JSON value */
  size_t data_count;
} switchboard_session_record;

/* Completion of a store operation, called by the plugin: from any thread, exactly
 * once per operation, possibly before the operation function returns, and never
 * after stop() returns (stop completes what is pending with UNAVAILABLE). op_ctx
 * is the host's, passed back untouched. record is non-NULL exactly when status is
 * OK and the operation yields a record (all but remove); it and error (a
 * NUL-terminated message or NULL) are borrowed for the duration of the call: the
 * host copies them. */
typedef void (*switchboard_store_done)(void* op_ctx, uint32_t status,
                                       const switchboard_session_record* record,
                                       const char* error);

typedef struct switchboard_store_vtable {
  uint32_t struct_size; /* sizeof(switchboard_store_vtable) the plugin was built with */
  /* As for the transport. */
  switchboard_status (*create)(const switchboard_config_entry* config, size_t config_count,
                               const switchboard_host* host, void** out, char* err,
                               size_t err_len);
  switchboard_status (*start)(void* instance, char* err, size_t err_len);
  void (*stop)(void* instance);
  void (*destroy)(void* instance);

  /* Every operation below completes through done(op_ctx, ...), never blocks, and
   * refreshes the session's sliding TTL (ttl_ms) when the session exists. All but
   * create answer NOT_FOUND for an unknown or expired id. Every argument (id,
   * names, user, key, value) is borrowed for the duration of the call: copy what
   * an asynchronous completion needs. */

  /* Create an empty record (no user, no channels, no data). */
  void (*create_session)(void* instance, switchboard_str id, int64_t ttl_ms,
                         switchboard_store_done done, void* op_ctx);
  void (*load)(void* instance, switchboard_str id, int64_t ttl_ms, switchboard_store_done done,
               void* op_ctx);
  /* Atomically add channels; LIMIT (and no change) when the resulting set would hold
   * more than max_channels. Adding a present channel is harmless. */
  void (*add_channels)(void* instance, switchboard_str id, const switchboard_str* names,
                       size_t count, uint32_t max_channels, int64_t ttl_ms,
                       switchboard_store_done done, void* op_ctx);
  /* Atomically remove channels (absent ones are ignored). */
  void (*remove_channels)(void* instance, switchboard_str id, const switchboard_str* names,
                          size_t count, int64_t ttl_ms, switchboard_store_done done,
                          void* op_ctx);
  void (*clear_channels)(void* instance, switchboard_str id, int64_t ttl_ms,
                         switchboard_store_done done, void* op_ctx);
  /* user == NULL signs out. */
  void (*set_user)(void* instance, switchboard_str id, const switchboard_str* user,
                   int64_t ttl_ms, switchboard_store_done done, void* op_ctx);
  /* Set one free-form data key to a JSON value; value == NULL deletes the key. */
  void (*set_data)(void* instance, switchboard_str id, switchboard_str key,
                   const switchboard_str* value_json, int64_t ttl_ms,
                   switchboard_store_done done, void* op_ctx);
  /* Delete the session. Completes with OK (record NULL) or NOT_FOUND. */
  void (*remove)(void* instance, switchboard_str id, switchboard_store_done done,
                 void* op_ctx);
} switchboard_store_vtable;

/* ---- The descriptor. -------------------------------------------------------- */

enum {
  SWITCHBOARD_CAP_TRANSPORT = 1u << 0,
  SWITCHBOARD_CAP_SESSION_STORE = 1u << 1,
  SWITCHBOARD_CAP_SELF_ECHO = 1u << 2,  /* transport delivers its own publishes */
  SWITCHBOARD_CAP_SHARED = 1u << 3,     /* instances in different processes see each other */
  /* ABI 1.3: publish() may be called from any thread, concurrently with itself
   * and with the plugin's own threads (never with create/start/stop/destroy: the
   * host excludes those). The host then publishes on the caller's thread instead
   * of hopping to its control thread. Without it, publish() keeps rule 1. */
  SWITCHBOARD_CAP_PUBLISH_ANY_THREAD = 1u << 4
};

typedef struct switchboard_plugin {
  uint32_t struct_size;
  uint32_t abi_major; /* SWITCHBOARD_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;
  const char* name;    /* e.g. "memory": the name used in the config */
  const char* version; /* the plugin's own version, free text */
  uint32_t capabilities;
  const switchboard_config_key* config_keys; /* may be NULL when config_key_count is 0 */
  size_t config_key_count;
  const switchboard_transport_vtable* transport; /* NULL unless CAP_TRANSPORT */
  const switchboard_store_vtable* store;         /* NULL unless CAP_SESSION_STORE */
  /* ---- 1.1 ---- */
  const char* description; /* one line for listings and the config reference; may be NULL */
} switchboard_plugin;

/* The size of the descriptor as ABI 1.0 defined it: a host reads `description`
 * only when struct_size is larger. */
#define SWITCHBOARD_PLUGIN_SIZE_V1_0 (offsetof(switchboard_plugin, store) + sizeof(void*))

typedef const switchboard_plugin* (*switchboard_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* SWITCHBOARD_ABI_H */
