/* Sessions that stay correct under concurrent requests (issue 11), against DynamoDB Local:
 * tombstones (a late save never resurrects a destroyed session), versioned writes with a merge
 * (no lost update; each request carries the version cdyn_store_load gave it to its
 * cdyn_store_save, and a second save the version its first wrote), the absolute timeout (on the manual clock), and a user's sessions listed
 * and ended through the user index. Request counts come from a counting proxy in front of
 * DynamoDB Local (harness.h). Run under AddressSanitizer and once under valgrind. Adding the
 * user index to an existing table is test_user_index.c, on a DynamoDB Local of its own. */
#include <limits.h>

#include "harness.h"

/* A configuration for `table` on DynamoDB Local, through `proxy` when it is not NULL, with
 * the store reading "now" from `clock` (NULL: the system's). */
static cdyn_config *config_for(const char *table, counting_proxy *proxy, const cdyn_clock *clock) {
  cdyn_config *config = local_config_at(table, proxy ? proxy->url : NULL);
  CHECK_STATUS(cdyn_config_set_clock(config, clock, NULL), CDYN_OK, NULL);
  return config;
}

/* A store from `config` (which this frees), its table created (with the user index when a
 * user field is configured). */
static cdyn_store *store_with_table(cdyn_config *config) {
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_store_create_table(store, NULL, NULL, &err), CDYN_OK, err);
  return store;
}

/* A store from `config`, which this frees. */
static cdyn_store *store_of(cdyn_config *config) {
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  return store;
}

/* The session stored under `sid` (the caller frees it), or NULL when there is none; its
 * expiry into `*expires` when not NULL. */
static char *load(cdyn_store *store, const char *sid, int64_t *expires) {
  cdyn_error *err = NULL;
  bool found = false;
  char *json = NULL;
  int64_t stored = -1;
  CHECK_STATUS(cdyn_store_get(store, sid, &found, &json, NULL, &stored, &err), CDYN_OK, err);
  CHECK(found == (json != NULL));
  if (expires != NULL) *expires = stored;
  return json;
}

/* What one request carries from its load to its save: the version its session was loaded
 * at (cdyn_store_load), then the version its last save wrote. */
typedef struct {
  bool has_version;
  uint64_t version;
} token;

/* A version no test reaches: an output still holding it was not written. */
#define UNWRITTEN 987654321u

/* The version to pass to cdyn_store_save: NULL when none was loaded. */
static const uint64_t *loaded_at(const token *t) { return t != NULL && t->has_version ? &t->version : NULL; }

/* As load, with cdyn_store_load: the version loaded into `*t` (which must not be NULL). */
static char *load_token(cdyn_store *store, const char *sid, token *t) {
  cdyn_error *err = NULL;
  bool found = false;
  char *json = NULL;
  *t = (token){.has_version = true, .version = UNWRITTEN}; /* must be written */
  CHECK_STATUS(cdyn_store_load(store, sid, &found, &json, NULL, NULL, &t->has_version, &t->version, &err), CDYN_OK,
               err);
  CHECK(found == (json != NULL));
  CHECK(t->has_version ? t->version != UNWRITTEN : t->version == 0);
  return json;
}

/* Saves with cdyn_store_save (CDYN_CONDITION_ALWAYS) from the version in `*t` (NULL: a session
 * not loaded), and returns what it did; the version written into `*t` when it is not NULL. */
static cdyn_save_outcome save_from(cdyn_store *store, const char *sid, const char *json, int64_t expires, token *t) {
  cdyn_error *err = NULL;
  cdyn_save_outcome outcome = (cdyn_save_outcome)7; /* neither value: must be written */
  token written = {.has_version = true, .version = UNWRITTEN}; /* must be written */
  CHECK_STATUS(cdyn_store_save(store, sid, json, expires, CDYN_CONDITION_ALWAYS, loaded_at(t), &outcome,
                               &written.has_version, &written.version, &err),
               CDYN_OK, err);
  CHECK(outcome == CDYN_SAVE_WRITTEN || outcome == CDYN_SAVE_ENDED);
  CHECK(written.has_version ? written.version != UNWRITTEN : written.version == 0);
  if (outcome == CDYN_SAVE_ENDED) CHECK(!written.has_version);
  if (t != NULL) *t = written;
  return outcome;
}

/* Saves a session the caller did not load (cdyn_store_save with `loaded` NULL). */
static cdyn_save_outcome save(cdyn_store *store, const char *sid, const char *json, int64_t expires) {
  return save_from(store, sid, json, expires, NULL);
}

/* The whole number under the top-level `key` of a flat JSON object, or LONG_MIN. */
static long json_int(const char *json, const char *key) {
  if (json == NULL) return LONG_MIN;
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *at = strstr(json, pattern);
  if (at == NULL) return LONG_MIN;
  char *end = NULL;
  long value = strtol(at + strlen(pattern), &end, 10);
  return end == at + strlen(pattern) ? LONG_MIN : value;
}

static bool has_text(const char *json, const char *text) { return json != NULL && strstr(json, text) != NULL; }

/* Checks that the proxy counted exactly the requests in `expected` ("PutItem=1 GetItem=1"; ""
 * for none) since its last reset, and no others; then resets it. */
#define CHECK_REQUESTS(proxy, expected) check_requests_at(__FILE__, __LINE__, (proxy), (expected))

static void check_requests_at(const char *file, int line, counting_proxy *proxy, const char *expected) {
  atomic_fetch_add(&harness_checks, 1);
  int listed = 0;
  bool ok = true;
  char spec[256];
  snprintf(spec, sizeof spec, "%s", expected);
  for (char *save_ptr = NULL, *item = strtok_r(spec, " ", &save_ptr); item != NULL;
       item = strtok_r(NULL, " ", &save_ptr)) {
    char *eq = strchr(item, '=');
    if (eq == NULL) {
      ok = false;
      break;
    }
    *eq = '\0';
    int want = atoi(eq + 1);
    listed += want;
    if (proxy_count(proxy, item) != want) ok = false;
  }
  if (proxy_count(proxy, "") != listed) ok = false;
  if (!ok) {
    char counted[512];
    proxy_describe(proxy, counted, sizeof counted);
    atomic_fetch_add(&harness_failures, 1);
    fprintf(stderr, "%s:%d: requests \"%s\", expected \"%s\"\n", file, line, counted, expected);
  }
  proxy_reset(proxy);
}

/* Completion of one non-blocking call. */
typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
  cdyn_status status;
  cdyn_save_outcome outcome;
  token version;
  bool found;
  char *session;
  uint64_t count;
  cdyn_user_session_list *sessions;
} completion;

static void completion_init(completion *c) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mutex, NULL);
  pthread_cond_init(&c->cond, NULL);
  c->outcome = (cdyn_save_outcome)7;
}

static void completion_destroy(completion *c) {
  pthread_mutex_destroy(&c->mutex);
  pthread_cond_destroy(&c->cond);
}

static void complete(completion *c, cdyn_status status, cdyn_error *error) {
  if ((status == CDYN_OK) != (error == NULL) || (error && cdyn_error_code(error) != status))
    status = CDYN_ERR_INTERNAL; /* a mismatch fails the caller's check */
  cdyn_error_free(error);
  pthread_mutex_lock(&c->mutex);
  c->status = status;
  c->done++;
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->mutex);
}

static void on_save(void *user_data, cdyn_status status, cdyn_save_outcome outcome, bool has_written_version,
                    uint64_t written_version, cdyn_error *error) {
  completion *c = user_data;
  c->outcome = outcome;
  c->version = (token){has_written_version, written_version};
  complete(c, status, error);
}

static void on_load(void *user_data, cdyn_status status, bool found, char *session, size_t session_len,
                    int64_t expires, bool has_version, uint64_t version, cdyn_error *error) {
  completion *c = user_data;
  c->found = found;
  c->session = session;
  c->version = (token){has_version, version};
  if (session != NULL && strlen(session) != session_len) status = CDYN_ERR_INTERNAL;
  if ((session != NULL) != found || (found && expires <= 0)) status = CDYN_ERR_INTERNAL;
  complete(c, status, error);
}

static void on_sessions(void *user_data, cdyn_status status, cdyn_user_session_list *sessions,
                        cdyn_error *error) {
  completion *c = user_data;
  c->sessions = sessions;
  complete(c, status, error);
}

static void on_count(void *user_data, cdyn_status status, uint64_t count, cdyn_error *error) {
  completion *c = user_data;
  c->count = count;
  complete(c, status, error);
}

static bool await(completion *c) { return wait_for_count(&c->mutex, &c->cond, &c->done, 1, 30); }

/* 1. Tombstones, on by default: a late save of a destroyed session writes nothing and says
 * so, get and touch find nothing, fresh ids are unaffected; one write per destroy and one
 * conditional write per save. */
static void test_tombstones(void) {
  counting_proxy proxy;
  counting_proxy_start(&proxy);
  cdyn_clock *clock = cdyn_manual_clock_new(now_secs() * 1000);
  char table[128];
  unique_table(table, sizeof table, "tombstones");
  cdyn_config *config = config_for(table, &proxy, clock);
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_config_set_tombstone_lifetime(config, 60 * 1000, &err), CDYN_OK, err);
  cdyn_store *store = store_with_table(config);
  /* The first session call of a store checks its table once (DescribeTable): not counted. */
  CHECK(load(store, "warm-up", NULL) == NULL);
  proxy_reset(&proxy);
  const char *sid = "sid-tomb-9c1e55";
  int64_t expires = clock_secs(clock) + 3600;

  /* A login: one conditional PutItem. */
  CHECK(save(store, sid, "{\"user\":\"ada\"}", expires) == CDYN_SAVE_WRITTEN);
  CHECK_REQUESTS(&proxy, "PutItem=1");
  /* Request A loads the session (one GetItem)... */
  char *loaded = load(store, sid, NULL);
  CHECK(has_text(loaded, "\"ada\""));
  cdyn_string_free(loaded);
  CHECK_REQUESTS(&proxy, "GetItem=1");
  /* ...request B logs out: one write, the tombstone... */
  CHECK_STATUS(cdyn_store_destroy(store, sid, &err), CDYN_OK, err);
  CHECK_REQUESTS(&proxy, "PutItem=1");
  /* ...and A's late save writes nothing and reports it: one conditional PutItem, refused by
   * the tombstone (which DynamoDB returns with the refusal: no read). */
  CHECK(save(store, sid, "{\"user\":\"ada\",\"cart\":[1]}", expires) == CDYN_SAVE_ENDED);
  CHECK_REQUESTS(&proxy, "PutItem=1");
  /* cdyn_store_set, which reports nothing: a quiet CDYN_OK, nothing written. */
  CHECK_STATUS(cdyn_store_set(store, sid, "{\"user\":\"ada\"}", expires, CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
  CHECK_REQUESTS(&proxy, "PutItem=1");
  /* The user stays logged out: get finds nothing, touch finds nothing and re-creates nothing. */
  CHECK(load(store, sid, NULL) == NULL);
  cdyn_touch_outcome outcome = CDYN_TOUCH_UPDATED;
  int64_t left = -1;
  CHECK_STATUS(cdyn_store_touch(store, sid, expires + 600, &outcome, &left, &err), CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_NOT_FOUND && left == 0);
  CHECK(load(store, sid, NULL) == NULL);
  CHECK_REQUESTS(&proxy, "GetItem=2 UpdateItem=1");
  /* Create-only and update-only saves of an ended session are CONFLICT (Django's UpdateError),
   * and the message names no session id. */
  CHECK(cdyn_store_save(store, sid, "{}", expires, CDYN_CONDITION_IF_ABSENT, NULL, NULL, NULL, NULL, &err) ==
        CDYN_ERR_CONFLICT);
  CHECK(err != NULL && strstr(cdyn_error_message(err), sid) == NULL);
  cdyn_error_free(err);
  CHECK_STATUS(cdyn_store_save(store, sid, "{}", expires, CDYN_CONDITION_IF_PRESENT, NULL, NULL, NULL, NULL, &err),
               CDYN_ERR_CONFLICT, err);
  /* A tombstone is no session: not listed, not counted. */
  uint64_t length = 99;
  CHECK_STATUS(cdyn_store_length(store, &length, &err), CDYN_OK, err);
  CHECK(length == 0);
  /* The non-blocking twin reports the same. */
  completion done;
  completion_init(&done);
  CHECK_STATUS(cdyn_store_save_async(store, sid, "{\"late\":true}", expires, CDYN_CONDITION_ALWAYS,
                                     NULL, on_save, &done, &err),
               CDYN_OK, err);
  CHECK(await(&done));
  CHECK(done.status == CDYN_OK && done.outcome == CDYN_SAVE_ENDED);
  completion_destroy(&done);
  CHECK(load(store, sid, NULL) == NULL);

  /* A fresh id (a new or regenerated session) is not affected. */
  proxy_reset(&proxy);
  CHECK(save(store, "sid-fresh-1", "{\"user\":\"ada\"}", expires) == CDYN_SAVE_WRITTEN);
  CHECK_REQUESTS(&proxy, "PutItem=1");
  loaded = load(store, "sid-fresh-1", NULL);
  CHECK(has_text(loaded, "\"ada\""));
  cdyn_string_free(loaded);
  completion_init(&done);
  CHECK_STATUS(cdyn_store_save_async(store, "sid-fresh-2", "{}", expires, CDYN_CONDITION_ALWAYS,
                                     NULL, on_save, &done, &err),
               CDYN_OK, err);
  CHECK(await(&done));
  CHECK(done.status == CDYN_OK && done.outcome == CDYN_SAVE_WRITTEN);
  completion_destroy(&done);

  /* Once the tombstone's lifetime (60 s here) has passed on the store's clock, the id is free. */
  CHECK_STATUS(cdyn_clock_advance_ms(clock, 61 * 1000, &err), CDYN_OK, err);
  CHECK(save(store, sid, "{\"user\":\"bob\"}", expires) == CDYN_SAVE_WRITTEN);
  loaded = load(store, sid, NULL);
  CHECK(has_text(loaded, "\"bob\""));
  cdyn_string_free(loaded);

  cdyn_store_free(store);
  cdyn_clock_free(clock);
  counting_proxy_stop(&proxy);
}

/* tombstone_lifetime 0: destroy deletes (one DeleteItem), as connect-dynamodb 3.x, and a late
 * save brings the session back. */
static void test_tombstones_off(void) {
  counting_proxy proxy;
  counting_proxy_start(&proxy);
  char table[128];
  unique_table(table, sizeof table, "tombstones-off");
  cdyn_config *config = config_for(table, &proxy, NULL);
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_config_set_tombstone_lifetime(config, 0, &err), CDYN_OK, err);
  cdyn_store *store = store_with_table(config);
  int64_t expires = now_secs() + 3600;
  CHECK(save(store, "off-1", "{\"user\":\"ada\"}", expires) == CDYN_SAVE_WRITTEN);
  char *loaded = load(store, "off-1", NULL);
  cdyn_string_free(loaded);
  proxy_reset(&proxy);
  CHECK_STATUS(cdyn_store_destroy(store, "off-1", &err), CDYN_OK, err);
  CHECK_REQUESTS(&proxy, "DeleteItem=1");
  CHECK(load(store, "off-1", NULL) == NULL);
  /* Nothing is left in the table: clear finds no item to delete. */
  cdyn_reap_report report = {99, 99};
  CHECK_STATUS(cdyn_store_clear(store, &report, &err), CDYN_OK, err);
  CHECK(report.deleted == 0);
  /* The late save of a request that loaded the session before: written, the session is back. */
  proxy_reset(&proxy);
  CHECK(save(store, "off-1", "{\"user\":\"ada\",\"cart\":[1]}", expires) == CDYN_SAVE_WRITTEN);
  CHECK_REQUESTS(&proxy, "PutItem=1");
  loaded = load(store, "off-1", NULL);
  CHECK(has_text(loaded, "\"cart\""));
  cdyn_string_free(loaded);
  CHECK_STATUS(cdyn_store_clear(store, NULL, &err), CDYN_OK, err);

  /* The same with tombstones on (the default): the tombstone is an item clear finds. */
  cdyn_store *tombstoning = store_of(config_for(table, NULL, NULL));
  CHECK(save(tombstoning, "on-1", "{}", expires) == CDYN_SAVE_WRITTEN);
  CHECK_STATUS(cdyn_store_destroy(tombstoning, "on-1", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_store_clear(tombstoning, &report, &err), CDYN_OK, err);
  CHECK(report.deleted == 1);
  cdyn_store_free(tombstoning);
  cdyn_store_free(store);
  counting_proxy_stop(&proxy);
}

/* 2. Two requests load one session at the same version and save different keys: with merging
 * off the earlier change is lost; with it on both survive, at the cost of the rewrite (one
 * more PutItem, no read); a key both changed is CONFLICT under "error". Each request hands
 * the version cdyn_store_load gave it to its cdyn_store_save. */
static void test_merge_two_requests(void) {
  counting_proxy proxy;
  counting_proxy_start(&proxy);
  char table[128];
  unique_table(table, sizeof table, "merge");
  cdyn_error *err = NULL;
  int64_t expires = now_secs() + 3600;
  cdyn_merge policies[] = {CDYN_MERGE_OFF, CDYN_MERGE_MINE, CDYN_MERGE_ERROR};
  for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
    cdyn_merge policy = policies[i];
    cdyn_config *config = config_for(table, &proxy, NULL);
    CHECK_STATUS(cdyn_config_set_merge(config, policy, &err), CDYN_OK, err);
    cdyn_store *store = i == 0 ? store_with_table(config) : store_of(config);
    char sid[32];
    snprintf(sid, sizeof sid, "merge-%zu", i);
    token first = {0};
    CHECK(save_from(store, sid, "{\"n\":0}", expires, &first) == CDYN_SAVE_WRITTEN);
    /* A new session's save writes a version with merging on, none with it off. */
    CHECK(first.has_version == (policy != CDYN_MERGE_OFF));
    proxy_reset(&proxy);
    /* Requests A and B load the session: one GetItem each, merging or not, at one version. */
    token ta = {0}, tb = {0};
    char *a = load_token(store, sid, &ta);
    char *b = load_token(store, sid, &tb);
    CHECK(json_int(a, "n") == 0 && json_int(b, "n") == 0);
    cdyn_string_free(a);
    cdyn_string_free(b);
    CHECK_REQUESTS(&proxy, "GetItem=2");
    CHECK(ta.has_version == (policy != CDYN_MERGE_OFF) && tb.has_version == ta.has_version);
    CHECK(ta.version == tb.version && ta.version == first.version);
    /* A adds to the cart; B, which loaded before A saved, sets a flash message. */
    CHECK(save_from(store, sid, "{\"n\":0,\"cart\":[7]}", expires, &ta) == CDYN_SAVE_WRITTEN);
    CHECK_REQUESTS(&proxy, "PutItem=1");
    CHECK(save_from(store, sid, "{\"n\":0,\"flash\":\"hi\"}", expires, &tb) == CDYN_SAVE_WRITTEN);
    token now = {0};
    char *final = load_token(store, sid, &now);
    CHECK(has_text(final, "\"flash\":\"hi\""));
    if (policy == CDYN_MERGE_OFF) {
      /* One plain PutItem, and A's change is lost. */
      CHECK_REQUESTS(&proxy, "PutItem=1 GetItem=1");
      CHECK(!has_text(final, "\"cart\""));
      CHECK(!ta.has_version && !tb.has_version && !now.has_version);
    } else {
      /* B's versioned PutItem is refused (DynamoDB returns the current item with the refusal,
       * so nothing is read) and the merged session written: both changes are kept. */
      CHECK_REQUESTS(&proxy, "PutItem=2 GetItem=1");
      CHECK(has_text(final, "\"cart\":[7]"));
      CHECK(json_int(final, "n") == 0);
      /* Each save wrote a newer version; the stored one is B's. */
      CHECK(ta.has_version && tb.has_version && ta.version > first.version && tb.version > ta.version);
      CHECK(now.has_version && now.version == tb.version);
    }
    cdyn_string_free(final);

    /* A key both requests changed: the later save's value under "mine" (and off), CONFLICT
     * under "error", which writes nothing. */
    token tc = {0}, td = {0};
    char *c = load_token(store, sid, &tc);
    char *d = load_token(store, sid, &td);
    cdyn_string_free(c);
    cdyn_string_free(d);
    CHECK(save_from(store, sid, "{\"n\":1,\"flash\":\"hi\",\"cart\":[7]}", expires, &tc) == CDYN_SAVE_WRITTEN);
    cdyn_save_outcome outcome = (cdyn_save_outcome)7;
    bool has_written = true;
    uint64_t written = UNWRITTEN;
    cdyn_status status =
        cdyn_store_save(store, sid, "{\"n\":2,\"flash\":\"hi\",\"cart\":[7]}", expires, CDYN_CONDITION_ALWAYS,
                        loaded_at(&td), &outcome, &has_written, &written, &err);
    final = load(store, sid, NULL);
    if (policy == CDYN_MERGE_ERROR) {
      CHECK(status == CDYN_ERR_CONFLICT);
      CHECK(err != NULL && cdyn_error_code(err) == CDYN_ERR_CONFLICT && !cdyn_error_retryable(err));
      CHECK(err != NULL && strstr(cdyn_error_message(err), sid) == NULL);
      CHECK(err != NULL && strstr(cdyn_error_message(err), "`n`") != NULL);
      /* The outputs are written only on success. */
      CHECK(outcome == (cdyn_save_outcome)7 && has_written && written == UNWRITTEN);
      CHECK(json_int(final, "n") == 1);
    } else {
      CHECK(status == CDYN_OK && outcome == CDYN_SAVE_WRITTEN);
      CHECK(has_written == (policy != CDYN_MERGE_OFF));
      CHECK(has_written ? written > tc.version : written == 0);
      CHECK(json_int(final, "n") == 2);
    }
    cdyn_error_free(err);
    err = NULL;
    cdyn_string_free(final);
    cdyn_store_free(store);
  }

  /* Two processes (two stores, each with its own memory) merge as well; a key both changed
   * is CONFLICT under "error" there too. */
  cdyn_store *stores[2];
  for (int i = 0; i < 2; i++) {
    cdyn_config *config = config_for(table, NULL, NULL);
    CHECK_STATUS(cdyn_config_set_merge(config, CDYN_MERGE_ERROR, &err), CDYN_OK, err);
    stores[i] = store_from(config);
    cdyn_config_free(config);
  }
  CHECK(save(stores[0], "merge-two", "{\"n\":0}", expires) == CDYN_SAVE_WRITTEN);
  token ta = {0}, tb = {0};
  char *a = load_token(stores[0], "merge-two", &ta);
  char *b = load_token(stores[1], "merge-two", &tb);
  cdyn_string_free(a);
  cdyn_string_free(b);
  CHECK(ta.has_version && tb.has_version && ta.version == tb.version);
  CHECK(save_from(stores[0], "merge-two", "{\"n\":0,\"cart\":[7]}", expires, &ta) == CDYN_SAVE_WRITTEN);
  CHECK(save_from(stores[1], "merge-two", "{\"n\":0,\"flash\":\"hi\"}", expires, &tb) == CDYN_SAVE_WRITTEN);
  char *final = load(stores[1], "merge-two", NULL);
  CHECK(has_text(final, "\"cart\":[7]") && has_text(final, "\"flash\":\"hi\"") && json_int(final, "n") == 0);
  cdyn_string_free(final);
  a = load_token(stores[0], "merge-two", &ta);
  b = load_token(stores[1], "merge-two", &tb);
  cdyn_string_free(a);
  cdyn_string_free(b);
  CHECK(save_from(stores[0], "merge-two", "{\"n\":1,\"cart\":[7],\"flash\":\"hi\"}", expires, &ta) ==
        CDYN_SAVE_WRITTEN);
  CHECK_STATUS(cdyn_store_save(stores[1], "merge-two", "{\"n\":2,\"cart\":[7],\"flash\":\"hi\"}", expires,
                               CDYN_CONDITION_ALWAYS, loaded_at(&tb), NULL, NULL, NULL, &err),
               CDYN_ERR_CONFLICT, err);
  final = load(stores[1], "merge-two", NULL);
  CHECK(json_int(final, "n") == 1);
  cdyn_string_free(final);
  for (int i = 0; i < 2; i++) cdyn_store_free(stores[i]);
  counting_proxy_stop(&proxy);
}

/* Sequential requests never merge: R1 loads, adds a key and saves; R2 loads what R1 wrote,
 * deletes the key (a logout deletes `user`) and saves. The deletion stays, under both
 * policies, each save one PutItem. (The store used to guess the load a save started from by
 * its text: R2's text equalled R1's load, which was taken as the base and brought the key
 * back.) */
static void test_merge_sequential_requests(void) {
  counting_proxy proxy;
  counting_proxy_start(&proxy);
  char table[128];
  unique_table(table, sizeof table, "merge-seq");
  cdyn_error *err = NULL;
  int64_t expires = now_secs() + 3600;
  cdyn_merge policies[] = {CDYN_MERGE_MINE, CDYN_MERGE_ERROR};
  for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
    cdyn_config *config = config_for(table, &proxy, NULL);
    CHECK_STATUS(cdyn_config_set_merge(config, policies[i], &err), CDYN_OK, err);
    cdyn_store *store = i == 0 ? store_with_table(config) : store_of(config);
    char sid[32];
    snprintf(sid, sizeof sid, "seq-%zu", i);
    CHECK(save(store, sid, "{\"n\":0}", expires) == CDYN_SAVE_WRITTEN);
    proxy_reset(&proxy);
    /* R1: adds to the cart. */
    token r1 = {0};
    char *json = load_token(store, sid, &r1);
    CHECK(json_int(json, "n") == 0 && r1.has_version);
    cdyn_string_free(json);
    CHECK(save_from(store, sid, "{\"n\":0,\"cart\":[1]}", expires, &r1) == CDYN_SAVE_WRITTEN);
    CHECK_REQUESTS(&proxy, "GetItem=1 PutItem=1");
    /* R2: empties it again, its text now equal to what R1 loaded. */
    token r2 = {0};
    json = load_token(store, sid, &r2);
    CHECK(has_text(json, "\"cart\":[1]") && r2.has_version && r2.version == r1.version);
    cdyn_string_free(json);
    CHECK(save_from(store, sid, "{\"n\":0}", expires, &r2) == CDYN_SAVE_WRITTEN);
    CHECK_REQUESTS(&proxy, "GetItem=1 PutItem=1");
    json = load(store, sid, NULL);
    CHECK(json_int(json, "n") == 0 && !has_text(json, "\"cart\""));
    cdyn_string_free(json);
    /* A logout by deleting `user` stays a logout. */
    token r3 = {0}, r4 = {0};
    json = load_token(store, sid, &r3);
    cdyn_string_free(json);
    CHECK(save_from(store, sid, "{\"n\":0,\"user\":\"ada\"}", expires, &r3) == CDYN_SAVE_WRITTEN);
    json = load_token(store, sid, &r4);
    CHECK(has_text(json, "\"user\":\"ada\""));
    cdyn_string_free(json);
    CHECK(save_from(store, sid, "{\"n\":0}", expires, &r4) == CDYN_SAVE_WRITTEN);
    json = load(store, sid, NULL);
    CHECK(!has_text(json, "\"user\"") && json_int(json, "n") == 0);
    cdyn_string_free(json);
    cdyn_store_free(store);
  }
  counting_proxy_stop(&proxy);
}

/* A request that saves one session twice hands the version its first save wrote to the
 * second, which then writes without merging (one PutItem) and keeps what the second changed;
 * handing it the version it loaded instead merges against the first save, which brings a key
 * the second deleted back. Through the non-blocking twins. */
static void test_merge_second_save(void) {
  counting_proxy proxy;
  counting_proxy_start(&proxy);
  char table[128];
  unique_table(table, sizeof table, "merge-twice");
  cdyn_error *err = NULL;
  int64_t expires = now_secs() + 3600;
  cdyn_merge policies[] = {CDYN_MERGE_MINE, CDYN_MERGE_ERROR};
  for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
    cdyn_config *config = config_for(table, &proxy, NULL);
    CHECK_STATUS(cdyn_config_set_merge(config, policies[i], &err), CDYN_OK, err);
    cdyn_store *store = i == 0 ? store_with_table(config) : store_of(config);
    for (int wrong = 0; wrong < 2; wrong++) {
      char sid[32];
      snprintf(sid, sizeof sid, "twice-%zu-%d", i, wrong);
      CHECK(save(store, sid, "{\"n\":0}", expires) == CDYN_SAVE_WRITTEN);
      proxy_reset(&proxy);
      /* The request loads (cdyn_store_load_async)... */
      completion done;
      completion_init(&done);
      CHECK_STATUS(cdyn_store_load_async(store, sid, on_load, &done, &err), CDYN_OK, err);
      CHECK(await(&done));
      CHECK(done.status == CDYN_OK && done.found && json_int(done.session, "n") == 0);
      CHECK(done.version.has_version);
      cdyn_string_free(done.session);
      token loaded = done.version;
      completion_destroy(&done);
      /* ...saves with a cart (cdyn_store_save_async)... */
      completion_init(&done);
      CHECK_STATUS(cdyn_store_save_async(store, sid, "{\"n\":0,\"cart\":[1]}", expires, CDYN_CONDITION_ALWAYS,
                                         loaded_at(&loaded), on_save, &done, &err),
                   CDYN_OK, err);
      CHECK(await(&done));
      CHECK(done.status == CDYN_OK && done.outcome == CDYN_SAVE_WRITTEN);
      token written = done.version;
      CHECK(written.has_version && written.version > loaded.version);
      completion_destroy(&done);
      CHECK_REQUESTS(&proxy, "GetItem=1 PutItem=1");
      /* ...then empties the cart and saves again. */
      token second = wrong ? loaded : written;
      CHECK(save_from(store, sid, "{\"n\":0}", expires, &second) == CDYN_SAVE_WRITTEN);
      char *json = load(store, sid, NULL);
      if (!wrong) {
        /* From the version it wrote: one PutItem, the cart is gone. */
        CHECK_REQUESTS(&proxy, "PutItem=1 GetItem=1");
        CHECK(!has_text(json, "\"cart\"") && json_int(json, "n") == 0);
      } else {
        /* From the version it loaded: refused, merged against its own first save (which
         * changed `cart` since that load, while this save left `cart` as loaded), and the
         * cart is back. */
        CHECK_REQUESTS(&proxy, "PutItem=2 GetItem=1");
        CHECK(has_text(json, "\"cart\":[1]"));
      }
      CHECK(second.has_version && second.version > written.version);
      cdyn_string_free(json);
    }
    cdyn_store_free(store);
  }
  counting_proxy_stop(&proxy);
}

/* A save of a session the request did not load (`loaded` NULL, and cdyn_store_set) replaces
 * what is stored, under both policies: no merge and no CONFLICT, at the cost of one refused
 * PutItem when a versioned session is stored. A save from a version this store no longer
 * remembers (another store loaded it) writes the session whole under "mine" and is CONFLICT
 * under "error". */
static void test_merge_not_loaded(void) {
  counting_proxy proxy;
  counting_proxy_start(&proxy);
  char table[128];
  unique_table(table, sizeof table, "merge-replace");
  cdyn_error *err = NULL;
  int64_t expires = now_secs() + 3600;
  cdyn_merge policies[] = {CDYN_MERGE_MINE, CDYN_MERGE_ERROR};
  for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
    cdyn_merge policy = policies[i];
    cdyn_config *config = config_for(table, &proxy, NULL);
    CHECK_STATUS(cdyn_config_set_merge(config, policy, &err), CDYN_OK, err);
    cdyn_store *store = i == 0 ? store_with_table(config) : store_of(config);
    char sid[32];
    snprintf(sid, sizeof sid, "replace-%zu", i);
    CHECK(save(store, sid, "{\"n\":0}", expires) == CDYN_SAVE_WRITTEN);
    /* A request loads and changes `n`; another, which did not load it, writes its own. */
    token t = {0};
    char *json = load_token(store, sid, &t);
    cdyn_string_free(json);
    CHECK(save_from(store, sid, "{\"n\":1,\"cart\":[1]}", expires, &t) == CDYN_SAVE_WRITTEN);
    proxy_reset(&proxy);
    token replaced = {0};
    CHECK(save_from(store, sid, "{\"n\":5}", expires, &replaced) == CDYN_SAVE_WRITTEN);
    /* One write: it expects the newest version this store knows of, its own last save. */
    CHECK_REQUESTS(&proxy, "PutItem=1");
    CHECK(replaced.has_version && replaced.version > t.version);
    json = load(store, sid, NULL);
    CHECK(json_int(json, "n") == 5 && !has_text(json, "\"cart\""));
    cdyn_string_free(json);
    /* cdyn_store_set likewise. */
    CHECK_STATUS(cdyn_store_set(store, sid, "{\"n\":6}", expires, CDYN_CONDITION_ALWAYS, &err), CDYN_OK, err);
    token now = {0};
    json = load_token(store, sid, &now);
    CHECK(json_int(json, "n") == 6);
    CHECK(now.has_version && now.version > replaced.version);
    cdyn_string_free(json);

    /* A version this store never loaded: another store (process) loaded it, and a third
     * request saved since. */
    cdyn_config *other_config = config_for(table, NULL, NULL);
    CHECK_STATUS(cdyn_config_set_merge(other_config, policy, &err), CDYN_OK, err);
    cdyn_store *other = store_of(other_config);
    token foreign = {0};
    json = load_token(other, sid, &foreign);
    cdyn_string_free(json);
    CHECK(foreign.has_version && foreign.version == now.version);
    token third = now;
    CHECK(save_from(store, sid, "{\"n\":6,\"flash\":\"hi\"}", expires, &third) == CDYN_SAVE_WRITTEN);
    cdyn_config *forgetful_config = config_for(table, NULL, NULL);
    CHECK_STATUS(cdyn_config_set_merge(forgetful_config, policy, &err), CDYN_OK, err);
    cdyn_store *forgetful = store_of(forgetful_config);
    cdyn_status status = cdyn_store_save(forgetful, sid, "{\"n\":7}", expires, CDYN_CONDITION_ALWAYS,
                                         loaded_at(&foreign), NULL, NULL, NULL, &err);
    json = load(store, sid, NULL);
    if (policy == CDYN_MERGE_MINE) {
      CHECK_STATUS(status, CDYN_OK, err);
      CHECK(json_int(json, "n") == 7 && !has_text(json, "\"flash\"")); /* written whole */
    } else {
      CHECK_STATUS(status, CDYN_ERR_CONFLICT, err);
      CHECK(json_int(json, "n") == 6 && has_text(json, "\"flash\":\"hi\""));
    }
    cdyn_string_free(json);
    cdyn_store_free(forgetful);
    cdyn_store_free(other);
    cdyn_store_free(store);
  }
  counting_proxy_stop(&proxy);
}

/* Many requests at once: THREADS threads each load the session, set their own key and save,
 * in ROUNDS rounds held in step by a barrier (every load of a round before any save). */
enum { RACERS = 4, RACE_ROUNDS = 8 };

typedef struct {
  cdyn_store *stores[RACERS];
  const char *sid;
  pthread_barrier_t barrier;
  int lost;
  atomic_int failed_saves;
  atomic_int ended_saves;
} race;

typedef struct {
  race *race;
  int id;
} racer;

static void *racer_main(void *arg) {
  racer *me = arg;
  race *r = me->race;
  cdyn_store *store = r->stores[me->id];
  int64_t expires = now_secs() + 3600;
  for (int round = 1; round <= RACE_ROUNDS; round++) {
    pthread_barrier_wait(&r->barrier); /* the round starts */
    token version = {0};
    char *loaded = load_token(store, r->sid, &version);
    CHECK(loaded != NULL);
    pthread_barrier_wait(&r->barrier); /* every request of the round has loaded */
    char json[256];
    size_t used = (size_t)snprintf(json, sizeof json, "{");
    for (int k = 0; k < RACERS; k++) {
      char key[16];
      snprintf(key, sizeof key, "k%d", k);
      long value = k == me->id ? round : json_int(loaded, key);
      used += (size_t)snprintf(json + used, sizeof json - used, "%s\"%s\":%ld", k ? "," : "", key, value);
    }
    snprintf(json + used, sizeof json - used, "}");
    cdyn_string_free(loaded);
    cdyn_error *err = NULL;
    cdyn_save_outcome outcome = (cdyn_save_outcome)7;
    if (cdyn_store_save(store, r->sid, json, expires, CDYN_CONDITION_ALWAYS, loaded_at(&version), &outcome, NULL,
                        NULL, &err) != CDYN_OK) {
      fprintf(stderr, "save: %s: %s\n", cdyn_status_str(cdyn_error_code(err)), cdyn_error_message(err));
      atomic_fetch_add(&r->failed_saves, 1);
    } else if (outcome != CDYN_SAVE_WRITTEN) {
      atomic_fetch_add(&r->ended_saves, 1);
    }
    cdyn_error_free(err);
    pthread_barrier_wait(&r->barrier); /* every request of the round has saved */
    if (me->id == 0) {
      /* A key that does not hold its request's value of this round is a lost update. */
      char *final = load(store, r->sid, NULL);
      for (int k = 0; k < RACERS; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        if (json_int(final, key) != round) r->lost++;
      }
      cdyn_string_free(final);
    }
  }
  return NULL;
}

/* Runs a race on a new session of `table`; one store for all threads (a threaded server) or
 * one each (one process per request); returns the lost updates. */
static int run_race(const char *table, cdyn_merge merge, bool shared, const char *sid) {
  race r = {.sid = sid};
  cdyn_error *err = NULL;
  for (int i = 0; i < RACERS; i++) {
    if (shared && i > 0) {
      r.stores[i] = r.stores[0];
      continue;
    }
    cdyn_config *config = config_for(table, NULL, NULL);
    CHECK_STATUS(cdyn_config_set_merge(config, merge, &err), CDYN_OK, err);
    r.stores[i] = store_from(config);
    cdyn_config_free(config);
  }
  char initial[128];
  size_t used = (size_t)snprintf(initial, sizeof initial, "{");
  for (int k = 0; k < RACERS; k++)
    used += (size_t)snprintf(initial + used, sizeof initial - used, "%s\"k%d\":0", k ? "," : "", k);
  snprintf(initial + used, sizeof initial - used, "}");
  CHECK(save(r.stores[0], sid, initial, now_secs() + 3600) == CDYN_SAVE_WRITTEN);
  CHECK(pthread_barrier_init(&r.barrier, NULL, RACERS) == 0);
  pthread_t threads[RACERS];
  racer racers[RACERS];
  for (int i = 0; i < RACERS; i++) {
    racers[i] = (racer){.race = &r, .id = i};
    CHECK(pthread_create(&threads[i], NULL, racer_main, &racers[i]) == 0);
  }
  for (int i = 0; i < RACERS; i++) pthread_join(threads[i], NULL);
  pthread_barrier_destroy(&r.barrier);
  CHECK(atomic_load(&r.failed_saves) == 0);
  CHECK(atomic_load(&r.ended_saves) == 0);
  for (int i = 0; i < RACERS; i++)
    if (!shared || i == 0) cdyn_store_free(r.stores[i]);
  return r.lost;
}

static void test_merge_concurrent_requests(void) {
  char table[128];
  cdyn_store *setup = fresh_store("merge-race", table, sizeof table);
  cdyn_store_free(setup);
  int off = run_race(table, CDYN_MERGE_OFF, true, "race-off");
  int mine = run_race(table, CDYN_MERGE_MINE, true, "race-mine");
  int error = run_race(table, CDYN_MERGE_ERROR, false, "race-error");
  printf("  %d threads x %d rounds: lost updates %d with merging off, %d with \"mine\" (one store), "
         "%d with \"error\" (a store per thread)\n",
         RACERS, RACE_ROUNDS, off, mine, error);
  /* Off: every round keeps only the last save, so every other request's change is lost. */
  CHECK(off == (RACERS - 1) * RACE_ROUNDS);
  CHECK(mine == 0);
  CHECK(error == 0);
}

/* 3. The absolute timeout, on the manual clock: a session used all the time is refused once
 * older than the limit; touch and save never extend it; a new id starts afresh. */
static void test_absolute_timeout(void) {
  cdyn_clock *clock = cdyn_manual_clock_new(now_secs() * 1000);
  char table[128];
  unique_table(table, sizeof table, "absolute");
  cdyn_config *config = config_for(table, NULL, clock);
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_config_set_absolute_timeout(config, 3600 * 1000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_default_lifetime(config, 1800 * 1000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_touch_after(config, 0, &err), CDYN_OK, err); /* every touch writes */
  cdyn_store *store = store_with_table(config);
  const char *sid = "sid-abs-41d2";
  int64_t created = clock_secs(clock);
  int64_t limit = created + 3600;
  CHECK(save(store, sid, "{\"n\":0}", CDYN_EXPIRES_DEFAULT) == CDYN_SAVE_WRITTEN);
  int64_t expires = 0;
  char *loaded = load(store, sid, &expires);
  CHECK(loaded != NULL && expires == created + 1800);
  cdyn_string_free(loaded);
  /* Every ten minutes a request reads, touches and saves it (asking for ten days). */
  for (int k = 1; k <= 5; k++) {
    CHECK_STATUS(cdyn_clock_advance_ms(clock, 600 * 1000, &err), CDYN_OK, err);
    int64_t now = clock_secs(clock);
    loaded = load(store, sid, &expires);
    CHECK(loaded != NULL && expires <= limit);
    cdyn_string_free(loaded);
    cdyn_touch_outcome outcome = CDYN_TOUCH_NOT_FOUND;
    int64_t left = 0;
    CHECK_STATUS(cdyn_store_touch(store, sid, CDYN_EXPIRES_DEFAULT, &outcome, &left, &err), CDYN_OK, err);
    CHECK(outcome == CDYN_TOUCH_UPDATED);
    CHECK(left == (now + 1800 < limit ? now + 1800 : limit));
    char json[32];
    snprintf(json, sizeof json, "{\"n\":%d}", k);
    CHECK(save(store, sid, json, now + 10 * 86400) == CDYN_SAVE_WRITTEN);
    loaded = load(store, sid, &expires);
    CHECK(expires == limit); /* capped at the creation plus the limit */
    CHECK(json_int(loaded, "n") == k);
    cdyn_string_free(loaded);
  }
  /* One second before the limit it is there; at the limit it is gone, however active. */
  CHECK_STATUS(cdyn_clock_advance_ms(clock, (limit - 1) * 1000 - cdyn_clock_now_ms(clock), &err), CDYN_OK, err);
  loaded = load(store, sid, NULL);
  CHECK(json_int(loaded, "n") == 5);
  cdyn_string_free(loaded);
  CHECK_STATUS(cdyn_clock_advance_ms(clock, 1000, &err), CDYN_OK, err);
  CHECK(load(store, sid, NULL) == NULL);
  cdyn_touch_outcome outcome = CDYN_TOUCH_UPDATED;
  CHECK_STATUS(cdyn_store_touch(store, sid, CDYN_EXPIRES_DEFAULT, &outcome, NULL, &err), CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_NOT_FOUND);
  CHECK(save(store, sid, "{\"n\":6}", CDYN_EXPIRES_DEFAULT) == CDYN_SAVE_ENDED);
  CHECK_STATUS(cdyn_store_set(store, sid, "{\"n\":6}", CDYN_EXPIRES_DEFAULT, CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
  CHECK(load(store, sid, NULL) == NULL);

  /* The regenerated session (a new id) starts its own lifetime. */
  int64_t reborn = clock_secs(clock);
  CHECK(save(store, "sid-abs-new", "{\"n\":0}", CDYN_EXPIRES_DEFAULT) == CDYN_SAVE_WRITTEN);
  loaded = load(store, "sid-abs-new", &expires);
  CHECK(loaded != NULL && expires == reborn + 1800);
  cdyn_string_free(loaded);
  for (int k = 0; k < 2; k++) {
    CHECK_STATUS(cdyn_clock_advance_ms(clock, 1200 * 1000, &err), CDYN_OK, err);
    CHECK_STATUS(cdyn_store_touch(store, "sid-abs-new", CDYN_EXPIRES_DEFAULT, &outcome, NULL, &err), CDYN_OK, err);
    CHECK(outcome == CDYN_TOUCH_UPDATED);
  }
  CHECK_STATUS(cdyn_clock_advance_ms(clock, (reborn + 3599) * 1000 - cdyn_clock_now_ms(clock), &err), CDYN_OK, err);
  loaded = load(store, "sid-abs-new", &expires);
  CHECK(loaded != NULL && expires == reborn + 3600);
  cdyn_string_free(loaded);
  CHECK_STATUS(cdyn_clock_advance_ms(clock, 1000, &err), CDYN_OK, err);
  CHECK(load(store, "sid-abs-new", NULL) == NULL);
  cdyn_store_free(store);
  cdyn_clock_free(clock);
}

/* The entry of `list` with this id, or NULL. */
static const cdyn_user_session *find_session(const cdyn_user_session_list *list, const char *id) {
  for (size_t i = 0; i < cdyn_user_session_list_count(list); i++) {
    const cdyn_user_session *s = cdyn_user_session_list_at(list, i);
    if (s != NULL && s->id_len == strlen(id) && strcmp(s->id, id) == 0) return s;
  }
  return NULL;
}

/* The number of sessions cdyn_store_user_sessions lists for `user`. */
static size_t count_sessions(cdyn_store *store, const char *user) {
  cdyn_user_session_list *list = NULL;
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_store_user_sessions(store, user, &list, &err), CDYN_OK, err);
  CHECK(list != NULL);
  size_t n = cdyn_user_session_list_count(list);
  cdyn_user_session_list_free(list);
  return n;
}

/* 4. A user's sessions: listed (id, expiry, creation time) and ended, all or all but one,
 * through the user index: one Query to list, one Query and one BatchWriteItem to end. */
static void test_user_sessions(void) {
  counting_proxy proxy;
  counting_proxy_start(&proxy);
  cdyn_clock *clock = cdyn_manual_clock_new(now_secs() * 1000);
  char table[128];
  unique_table(table, sizeof table, "users");
  cdyn_config *config = config_for(table, &proxy, clock);
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_config_set_user_field(config, "passport.user", &err), CDYN_OK, err);
  cdyn_store *store = store_with_table(config);
  cdyn_string_list *problems = NULL;
  CHECK_STATUS(cdyn_store_verify_table(store, &problems, &err), CDYN_OK, err);
  CHECK(cdyn_string_list_count(problems) == 0);
  cdyn_string_list_free(problems);

  const char *ada[] = {"ada-laptop", "ada-phone", "ada-tablet"};
  int64_t created[3], expires[3];
  for (int i = 0; i < 3; i++) {
    created[i] = clock_secs(clock);
    expires[i] = created[i] + 3600 + i;
    CHECK(save(store, ada[i], "{\"passport\":{\"user\":\"ada\"},\"cart\":[]}", expires[i]) ==
          CDYN_SAVE_WRITTEN);
    CHECK_STATUS(cdyn_clock_advance_ms(clock, 10 * 1000, &err), CDYN_OK, err);
  }
  int64_t later = clock_secs(clock) + 3600;
  CHECK(save(store, "bob-laptop", "{\"passport\":{\"user\":\"bob\"}}", later) == CDYN_SAVE_WRITTEN);
  CHECK(save(store, "num-laptop", "{\"passport\":{\"user\":42}}", later) == CDYN_SAVE_WRITTEN);
  CHECK(save(store, "anonymous", "{\"passport\":{}}", later) == CDYN_SAVE_WRITTEN);

  /* The list: one Query, each session with its expiry and creation time. */
  proxy_reset(&proxy);
  cdyn_user_session_list *list = NULL;
  CHECK_STATUS(cdyn_store_user_sessions(store, "ada", &list, &err), CDYN_OK, err);
  CHECK_REQUESTS(&proxy, "Query=1");
  CHECK(cdyn_user_session_list_count(list) == 3);
  for (int i = 0; i < 3; i++) {
    const cdyn_user_session *s = find_session(list, ada[i]);
    CHECK(s != NULL);
    if (s == NULL) continue;
    CHECK(s->expires == expires[i]);
    CHECK(s->created == created[i] && s->created != CDYN_CREATED_UNKNOWN);
  }
  CHECK(cdyn_user_session_list_at(list, 3) == NULL);
  cdyn_user_session_list_free(list);
  /* A whole-number user is listed under its decimal text; an unknown user has none. */
  CHECK_STATUS(cdyn_store_user_sessions(store, "42", &list, &err), CDYN_OK, err);
  CHECK(cdyn_user_session_list_count(list) == 1 && find_session(list, "num-laptop") != NULL);
  cdyn_user_session_list_free(list);
  CHECK(count_sessions(store, "nobody") == 0);

  /* "Log out everywhere else": all of ada's sessions but the current one. */
  proxy_reset(&proxy);
  uint64_t ended = 99;
  CHECK_STATUS(cdyn_store_end_user_sessions(store, "ada", "ada-phone", &ended, &err), CDYN_OK, err);
  CHECK_REQUESTS(&proxy, "Query=1 BatchWriteItem=1");
  CHECK(ended == 2);
  CHECK(load(store, "ada-laptop", NULL) == NULL);
  CHECK(load(store, "ada-tablet", NULL) == NULL);
  char *current = load(store, "ada-phone", NULL);
  CHECK(current != NULL);
  cdyn_string_free(current);
  /* They are ended as destroy ends them: a late save of one writes nothing. */
  CHECK(save(store, "ada-laptop", "{\"passport\":{\"user\":\"ada\"}}", later) == CDYN_SAVE_ENDED);
  CHECK_STATUS(cdyn_store_user_sessions(store, "ada", &list, &err), CDYN_OK, err);
  CHECK(cdyn_user_session_list_count(list) == 1 && find_session(list, "ada-phone") != NULL);
  cdyn_user_session_list_free(list);

  /* Then all of them (after a password change); `ended` may be NULL. Others keep theirs. */
  CHECK_STATUS(cdyn_store_end_user_sessions(store, "ada", NULL, NULL, &err), CDYN_OK, err);
  CHECK(count_sessions(store, "ada") == 0);
  CHECK(load(store, "ada-phone", NULL) == NULL);
  char *other = load(store, "bob-laptop", NULL);
  CHECK(other != NULL);
  cdyn_string_free(other);
  CHECK_STATUS(cdyn_store_end_user_sessions(store, "ada", NULL, &ended, &err), CDYN_OK, err);
  CHECK(ended == 0);
  /* A session saved under another user moves to that user's list. */
  CHECK(save(store, "bob-laptop", "{\"passport\":{\"user\":\"carol\"}}", later) == CDYN_SAVE_WRITTEN);
  CHECK(count_sessions(store, "bob") == 0);
  CHECK(count_sessions(store, "carol") == 1);

  /* The non-blocking twins. */
  completion done;
  completion_init(&done);
  CHECK_STATUS(cdyn_store_user_sessions_async(store, "carol", on_sessions, &done, &err), CDYN_OK, err);
  CHECK(await(&done));
  CHECK(done.status == CDYN_OK && cdyn_user_session_list_count(done.sessions) == 1);
  CHECK(find_session(done.sessions, "bob-laptop") != NULL);
  cdyn_user_session_list_free(done.sessions);
  completion_destroy(&done);
  completion_init(&done);
  CHECK_STATUS(cdyn_store_end_user_sessions_async(store, "carol", NULL, on_count, &done, &err), CDYN_OK, err);
  CHECK(await(&done));
  CHECK(done.status == CDYN_OK && done.count == 1);
  completion_destroy(&done);
  CHECK(load(store, "bob-laptop", NULL) == NULL);
  /* A failure reaches the callback: an empty user. */
  completion_init(&done);
  done.sessions = (cdyn_user_session_list *)&done; /* must be replaced by NULL */
  CHECK_STATUS(cdyn_store_user_sessions_async(store, "", on_sessions, &done, &err), CDYN_OK, err);
  CHECK(await(&done));
  CHECK(done.status == CDYN_ERR_INVALID_ARGUMENT && done.sessions == NULL);
  completion_destroy(&done);

  /* Bad input: INVALID_ARGUMENT, the list out-parameter NULL. */
  const char *not_utf8 = "\xff\xfe";
  list = (cdyn_user_session_list *)&ended;
  CHECK_STATUS(cdyn_store_user_sessions(store, NULL, &list, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK(list == NULL);
  CHECK_STATUS(cdyn_store_user_sessions(store, "", &list, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_user_sessions(store, not_utf8, &list, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_user_sessions(store, "ada", NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_user_sessions(NULL, "ada", &list, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  char user[1026];
  memset(user, 'u', 1025);
  user[1025] = '\0';
  CHECK_STATUS(cdyn_store_user_sessions(store, user, &list, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  user[1024] = '\0'; /* 1024 bytes: allowed */
  CHECK(count_sessions(store, user) == 0);
  ended = 99;
  CHECK_STATUS(cdyn_store_end_user_sessions(store, "ada", not_utf8, &ended, &err), CDYN_ERR_INVALID_ARGUMENT,
               err);
  CHECK(ended == 0);
  CHECK_STATUS(cdyn_store_end_user_sessions(store, NULL, NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_user_sessions_async(store, "ada", NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_end_user_sessions_async(store, NULL, NULL, on_count, NULL, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  cdyn_store_free(store);

  /* Without a user field there is no index: INVALID_CONFIG naming the setter to call. */
  cdyn_store *plain = store_of(config_for(table, NULL, NULL));
  CHECK(cdyn_store_user_sessions(plain, "ada", &list, &err) == CDYN_ERR_INVALID_CONFIG);
  CHECK(list == NULL);
  CHECK(err != NULL && cdyn_error_field(err) != NULL &&
        strcmp(cdyn_error_field(err), "cdyn_config_set_user_field") == 0);
  CHECK(err != NULL && strstr(cdyn_error_message(err), "`user_field`") != NULL);
  cdyn_error_free(err);
  CHECK_STATUS(cdyn_store_end_user_sessions(plain, "ada", NULL, NULL, &err), CDYN_ERR_INVALID_CONFIG, err);
  cdyn_store_free(plain);
  cdyn_clock_free(clock);
  counting_proxy_stop(&proxy);
}

int main(int argc, char **argv) {
  const test_case tests[] = {
      {"tombstones", test_tombstones},
      {"tombstones_off", test_tombstones_off},
      {"merge_two_requests", test_merge_two_requests},
      {"merge_sequential_requests", test_merge_sequential_requests},
      {"merge_second_save", test_merge_second_save},
      {"merge_not_loaded", test_merge_not_loaded},
      {"merge_concurrent_requests", test_merge_concurrent_requests},
      {"absolute_timeout", test_absolute_timeout},
      {"user_sessions", test_user_sessions},
  };
  return run_tests("test_lifecycle", tests, sizeof tests / sizeof tests[0], argc, argv);
}
