/* Many threads on one store handle, and the non-blocking API: callbacks on library threads,
 * ownership of what they receive, blocking calls inside callbacks, freeing a store with calls
 * pending. */
#include "harness.h"

enum { THREADS = 16, ROUNDS = 6 };

static cdyn_store *shared_store;

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  int failures = 0;
  for (int round = 0; round < ROUNDS; round++) {
    char sid[64], json[128];
    snprintf(sid, sizeof sid, "t%d-r%d", id, round);
    snprintf(json, sizeof json, "{\"thread\":%d,\"round\":%d}", id, round);
    int64_t expires = now_secs() + 600 + round;
    cdyn_error *err = NULL;
    if (cdyn_store_set(shared_store, sid, json, expires, CDYN_CONDITION_IF_ABSENT, &err) != CDYN_OK) {
      fprintf(stderr, "set: %s\n", cdyn_error_message(err));
      failures++;
    }
    cdyn_error_free(err);
    bool found = false;
    char *got = NULL;
    int64_t got_expires = 0;
    if (cdyn_store_get(shared_store, sid, &found, &got, NULL, &got_expires, NULL) != CDYN_OK ||
        !found || strcmp(got, json) != 0 || got_expires != expires)
      failures++;
    cdyn_string_free(got);
    cdyn_touch_outcome outcome = CDYN_TOUCH_NOT_FOUND;
    int64_t left = 0;
    if (cdyn_store_touch(shared_store, sid, expires + 3600, &outcome, &left, NULL) != CDYN_OK ||
        outcome != CDYN_TOUCH_UPDATED || left != expires + 3600)
      failures++;
    if (round % 2 == 0 && cdyn_store_destroy(shared_store, sid, NULL) != CDYN_OK) failures++;
  }
  return (void *)(intptr_t)failures;
}

static void test_threads_share_one_store(void) {
  char table[128];
  shared_store = fresh_store("threads", table, sizeof table);
  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++)
    CHECK(pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) == 0);
  int failures = 0;
  for (int i = 0; i < THREADS; i++) {
    void *result = NULL;
    pthread_join(threads[i], &result);
    failures += (int)(intptr_t)result;
  }
  CHECK(failures == 0);
  uint64_t length = 0;
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_store_length(shared_store, &length, &err), CDYN_OK, err);
  CHECK(length == THREADS * ROUNDS / 2);
  cdyn_store_free(shared_store);
  shared_store = NULL;
}

/* Completions of non-blocking calls, collected under a mutex. */
typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
  int failures;
  pthread_t caller;
  cdyn_store *store; /* for blocking calls inside callbacks */
} completions;

static void completions_init(completions *c) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mutex, NULL);
  pthread_cond_init(&c->cond, NULL);
  c->caller = pthread_self();
}

static void completions_destroy(completions *c) {
  pthread_mutex_destroy(&c->mutex);
  pthread_cond_destroy(&c->cond);
}

static void complete(completions *c, bool ok) {
  pthread_mutex_lock(&c->mutex);
  c->done++;
  if (!ok) c->failures++;
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->mutex);
}

static bool on_library_thread(completions *c) { return !pthread_equal(pthread_self(), c->caller); }

static void on_done(void *user_data, cdyn_status status, cdyn_error *error) {
  completions *c = user_data;
  bool ok = status == CDYN_OK && error == NULL && on_library_thread(c);
  if (!ok) fprintf(stderr, "done: %s %s\n", cdyn_status_str(status), cdyn_error_message(error));
  cdyn_error_free(error);
  complete(c, ok);
}

/* Per-call state of a get: what it expects. */
typedef struct {
  completions *c;
  char json[64];
  int64_t expires;
} expected_get;

static void on_get(void *user_data, cdyn_status status, bool found, char *session,
                   size_t session_len, int64_t expires, cdyn_error *error) {
  expected_get *e = user_data;
  bool ok = status == CDYN_OK && error == NULL && found && session != NULL &&
            strcmp(session, e->json) == 0 && session_len == strlen(e->json) &&
            expires == e->expires && on_library_thread(e->c);
  cdyn_string_free(session);
  cdyn_error_free(error);
  complete(e->c, ok);
}

static void on_get_missing(void *user_data, cdyn_status status, bool found, char *session,
                           size_t session_len, int64_t expires, cdyn_error *error) {
  completions *c = user_data;
  complete(c, status == CDYN_OK && !found && session == NULL && session_len == 0 &&
                  expires == 0 && error == NULL);
}

static void on_get_invalid(void *user_data, cdyn_status status, bool found, char *session,
                           size_t session_len, int64_t expires, cdyn_error *error) {
  completions *c = user_data;
  bool ok = status == CDYN_ERR_INVALID_ARGUMENT && error != NULL &&
            cdyn_error_code(error) == CDYN_ERR_INVALID_ARGUMENT && !found && session == NULL &&
            session_len == 0 && expires == 0;
  cdyn_error_free(error);
  complete(c, ok);
}

static int64_t touched_to;

static void on_touch(void *user_data, cdyn_status status, cdyn_touch_outcome outcome,
                     int64_t stored_expires, cdyn_error *error) {
  completions *c = user_data;
  complete(c, status == CDYN_OK && outcome == CDYN_TOUCH_UPDATED && error == NULL &&
                  stored_expires == touched_to && on_library_thread(c));
}

static void on_ids(void *user_data, cdyn_status status, cdyn_string_list *list, cdyn_error *error) {
  completions *c = user_data;
  bool ok = status == CDYN_OK && error == NULL && cdyn_string_list_count(list) == 32 &&
            on_library_thread(c);
  /* Exactly the ids written: async-0 .. async-31. */
  bool seen[32] = {false};
  for (size_t i = 0; ok && i < cdyn_string_list_count(list); i++) {
    const char *id = cdyn_string_list_at(list, i, NULL);
    int n = -1;
    ok = id != NULL && sscanf(id, "async-%d", &n) == 1 && n >= 0 && n < 32 && !seen[n];
    if (ok) seen[n] = true;
  }
  cdyn_string_list_free(list);
  complete(c, ok);
}

static void on_length(void *user_data, cdyn_status status, uint64_t count, cdyn_error *error) {
  completions *c = user_data;
  complete(c, status == CDYN_OK && error == NULL && count == 32);
}

/* A reaper pass over the 32 live sessions: all scanned, none deleted. */
static void on_reap_report(void *user_data, cdyn_status status, cdyn_reap_report report,
                           cdyn_error *error) {
  completions *c = user_data;
  complete(c, status == CDYN_OK && error == NULL && report.scanned == 32 && report.deleted == 0);
}

/* A clear once async-1 is destroyed: the 31 others and async-1's tombstone (an item until its
 * lifetime ends) scanned and deleted. */
static void on_clear_report(void *user_data, cdyn_status status, cdyn_reap_report report,
                            cdyn_error *error) {
  completions *c = user_data;
  bool ok = status == CDYN_OK && error == NULL && report.scanned == 32 && report.deleted == 32;
  if (!ok)
    fprintf(stderr, "clear: %s, scanned %llu, deleted %llu\n", cdyn_status_str(status),
            (unsigned long long)report.scanned, (unsigned long long)report.deleted);
  cdyn_error_free(error);
  complete(c, ok);
}

static void on_exists(void *user_data, cdyn_status status, bool flag, cdyn_error *error) {
  completions *c = user_data;
  complete(c, status == CDYN_OK && error == NULL && flag);
}

static void on_problems(void *user_data, cdyn_status status, cdyn_string_list *list,
                        cdyn_error *error) {
  completions *c = user_data;
  bool ok = status == CDYN_OK && error == NULL && list != NULL && cdyn_string_list_count(list) == 0;
  cdyn_string_list_free(list);
  complete(c, ok);
}

static void on_create(void *user_data, cdyn_status status, bool created, cdyn_string_list *problems,
                      cdyn_error *error) {
  completions *c = user_data;
  bool ok = status == CDYN_OK && error == NULL && !created && problems != NULL &&
            cdyn_string_list_count(problems) == 0;
  cdyn_string_list_free(problems);
  complete(c, ok);
}

static void on_table_missing(void *user_data, cdyn_status status, cdyn_string_list *list,
                             cdyn_error *error) {
  completions *c = user_data;
  bool ok = status == CDYN_ERR_TABLE_NOT_FOUND && list == NULL && error != NULL &&
            cdyn_error_code(error) == CDYN_ERR_TABLE_NOT_FOUND;
  cdyn_error_free(error);
  complete(c, ok);
}

/* A callback that makes blocking calls on the store, from the library's thread. */
static void on_done_then_block(void *user_data, cdyn_status status, cdyn_error *error) {
  completions *c = user_data;
  bool ok = status == CDYN_OK && error == NULL;
  bool found = false;
  char *json = NULL;
  cdyn_error *inner = NULL;
  ok = ok && cdyn_store_get(c->store, "nested", &found, &json, NULL, NULL, &inner) == CDYN_OK &&
       found && strcmp(json, "{\"nested\":true}") == 0;
  if (inner) fprintf(stderr, "nested get: %s\n", cdyn_error_message(inner));
  cdyn_error_free(inner);
  cdyn_string_free(json);
  ok = ok && cdyn_store_destroy(c->store, "nested", NULL) == CDYN_OK;
  complete(c, ok);
}

static void never_called(void *user_data, cdyn_status status, cdyn_error *error) {
  (void)status;
  cdyn_error_free(error);
  complete(user_data, false);
}

#define WAIT_ALL(c, n) CHECK(wait_for_count(&(c).mutex, &(c).cond, &(c).done, (n), 30))

static void test_non_blocking(void) {
  char table[128];
  cdyn_store *store = fresh_store("async", table, sizeof table);
  cdyn_error *err = NULL;
  completions c;
  completions_init(&c);
  c.store = store;

  /* 32 sets, all pending at once. */
  enum { N = 32 };
  expected_get gets[N];
  for (int i = 0; i < N; i++) {
    char sid[32];
    snprintf(sid, sizeof sid, "async-%d", i);
    gets[i].c = &c;
    snprintf(gets[i].json, sizeof gets[i].json, "{\"i\":%d}", i);
    gets[i].expires = now_secs() + 1000 + i;
    CHECK_STATUS(cdyn_store_set_async(store, sid, gets[i].json, gets[i].expires,
                                      CDYN_CONDITION_ALWAYS, on_done, &c, &err),
                 CDYN_OK, err);
  }
  WAIT_ALL(c, N);
  for (int i = 0; i < N; i++) {
    char sid[32];
    snprintf(sid, sizeof sid, "async-%d", i);
    CHECK_STATUS(cdyn_store_get_async(store, sid, on_get, &gets[i], &err), CDYN_OK, err);
  }
  WAIT_ALL(c, 2 * N);
  int target = 2 * N;
  CHECK_STATUS(cdyn_store_get_async(store, "nobody", on_get_missing, &c, &err), CDYN_OK, err);
  touched_to = now_secs() + 5000;
  CHECK_STATUS(cdyn_store_touch_async(store, "async-0", touched_to, on_touch, &c, &err),
               CDYN_OK, err);
  CHECK_STATUS(cdyn_store_ids_async(store, on_ids, &c, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_store_length_async(store, on_length, &c, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_store_reap_async(store, on_reap_report, &c, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_store_table_exists_async(store, on_exists, &c, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_store_verify_table_async(store, on_problems, &c, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_store_create_table_async(store, on_create, &c, &err), CDYN_OK, err);
  /* Failures found by the core reach the callback. */
  CHECK_STATUS(cdyn_store_get_async(store, "", on_get_invalid, &c, &err), CDYN_OK, err);
  target += 9;
  WAIT_ALL(c, target);
  CHECK_STATUS(cdyn_store_destroy_async(store, "async-1", on_done, &c, &err), CDYN_OK, err);
  target += 1;
  WAIT_ALL(c, target);
  CHECK_STATUS(cdyn_store_clear_async(store, on_clear_report, &c, &err), CDYN_OK, err);
  target += 1;
  WAIT_ALL(c, target);

  /* Blocking calls inside a callback work (they run on a helper thread). */
  CHECK_STATUS(cdyn_store_set_async(store, "nested", "{\"nested\":true}", 0, CDYN_CONDITION_ALWAYS,
                                    on_done_then_block, &c, &err),
               CDYN_OK, err);
  target += 1;
  WAIT_ALL(c, target);

  /* Argument errors come back at once, and the callback is never called. */
  CHECK_STATUS(cdyn_store_set_async(store, "x", "{}", 0, CDYN_CONDITION_ALWAYS, NULL, &c, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_set_async(store, NULL, "{}", 0, CDYN_CONDITION_ALWAYS, never_called, &c, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_set_async(store, "x", "{}", 0, 42, never_called, &c, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_set_async(store, "x", "{}", -1, CDYN_CONDITION_ALWAYS, never_called, &c, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_destroy_async(NULL, "x", never_called, &c, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_get_async(store, "\xff", on_get_invalid, &c, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_ids_async(store, NULL, &c, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_touch_async(store, "x", INT64_MIN, on_touch, &c, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);

  /* The store may be freed while calls are pending: the library keeps it alive. */
  for (int i = 2; i < 12; i++) {
    char sid[32];
    snprintf(sid, sizeof sid, "async-%d", i);
    /* Cleared above: every get finds nothing. */
    CHECK_STATUS(cdyn_store_get_async(store, sid, on_get_missing, &c, NULL), CDYN_OK, NULL);
  }
  cdyn_store_free(store);
  target += 10;
  WAIT_ALL(c, target);
  pthread_mutex_lock(&c.mutex);
  CHECK(c.failures == 0);
  CHECK(c.done == target);
  pthread_mutex_unlock(&c.mutex);

  /* A failure from DynamoDB reaches the callback with its error. */
  char missing[128];
  unique_table(missing, sizeof missing, "async-missing");
  cdyn_config *config = local_config(missing);
  cdyn_store *lost = store_from(config);
  cdyn_config_free(config);
  CHECK_STATUS(cdyn_store_verify_table_async(lost, on_table_missing, &c, &err), CDYN_OK, err);
  target += 1;
  WAIT_ALL(c, target);
  cdyn_store_free(lost);
  CHECK(c.failures == 0);
  completions_destroy(&c);
}

int main(int argc, char **argv) {
  const test_case tests[] = {
      {"threads_share_one_store", test_threads_share_one_store},
      {"non_blocking", test_non_blocking},
  };
  return run_tests("test_concurrency", tests, sizeof tests / sizeof tests[0], argc, argv);
}
