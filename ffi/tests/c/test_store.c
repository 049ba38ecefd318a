/* The blocking API against DynamoDB Local: round trips, expiry, every status, bad input and
 * ownership (run under AddressSanitizer's leak checker, and once under valgrind). */
#include "harness.h"

static const char *const SID_SECRET = "sid-that-must-not-leak-7f3a";

/* The session and expiry stored under `sid`, or found = false. */
static void get_session(cdyn_store *store, const char *sid, bool *found, char **json,
                        int64_t *expires) {
  cdyn_error *err = NULL;
  size_t len = 12345;
  CHECK_STATUS(cdyn_store_get(store, sid, found, json, &len, expires, &err), CDYN_OK, err);
  if (*found) {
    CHECK(*json != NULL && len == strlen(*json));
  } else {
    CHECK(*json == NULL && len == 0 && *expires == 0);
  }
}

static void test_round_trip(void) {
  char table[128];
  cdyn_store *store = fresh_store("round-trip", table, sizeof table);
  cdyn_error *err = NULL;
  const char *json = "{\"user\":\"ada\",\"n\":[1,2,3],\"s\":\"gr\\u00fc\\u00df \xc3\xa9\"}";
  int64_t expires = now_secs() + 3600;
  CHECK_STATUS(cdyn_store_set(store, "a1", json, expires, CDYN_CONDITION_ALWAYS, &err), CDYN_OK,
               err);
  bool found = false;
  char *got = NULL;
  int64_t got_expires = 0;
  get_session(store, "a1", &found, &got, &got_expires);
  CHECK(found);
  CHECK(got != NULL && strcmp(got, json) == 0);
  CHECK(got_expires == expires);
  cdyn_string_free(got);

  /* Optional out-parameters may be NULL. */
  got = NULL;
  CHECK_STATUS(cdyn_store_get(store, "a1", &found, &got, NULL, NULL, NULL), CDYN_OK, NULL);
  CHECK(found && got != NULL);
  cdyn_string_free(got);

  /* Overwrite, then the default lifetime (one day unless configured). */
  CHECK_STATUS(cdyn_store_set(store, "a1", "{\"v\":2}", CDYN_EXPIRES_DEFAULT,
                              CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
  get_session(store, "a1", &found, &got, &got_expires);
  CHECK(found && strcmp(got, "{\"v\":2}") == 0);
  CHECK(got_expires >= now_secs() + 86400 - 5 && got_expires <= now_secs() + 86400 + 5);
  cdyn_string_free(got);

  /* Touch: moved, then throttled (the default throttle is 10 minutes), then missing; each
   * reports the expiry it left stored. */
  cdyn_touch_outcome outcome = CDYN_TOUCH_NOT_FOUND;
  int64_t later = now_secs() + 7200;
  int64_t left = -1;
  CHECK_STATUS(cdyn_store_touch(store, "a1", later, &outcome, &left, &err), CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_UPDATED);
  CHECK(left == later);
  get_session(store, "a1", &found, &got, &got_expires);
  CHECK(found && got_expires == later);
  cdyn_string_free(got);
  CHECK_STATUS(cdyn_store_touch(store, "a1", later + 1, &outcome, &left, &err), CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_THROTTLED);
  CHECK(left == later); /* the one already stored */
  CHECK_STATUS(cdyn_store_touch(store, "nobody", now_secs() + 60, &outcome, &left, &err), CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_NOT_FOUND);
  CHECK(left == 0);
  CHECK_STATUS(cdyn_store_touch(store, "a1", CDYN_EXPIRES_DEFAULT, NULL, NULL, &err), CDYN_OK, err);

  /* Destroy, also of a missing session; a touch never re-creates it. */
  CHECK_STATUS(cdyn_store_destroy(store, "a1", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_store_destroy(store, "a1", &err), CDYN_OK, err);
  get_session(store, "a1", &found, &got, &got_expires);
  CHECK(!found);
  CHECK_STATUS(cdyn_store_touch(store, "a1", now_secs() + 60, &outcome, NULL, &err), CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_NOT_FOUND);
  get_session(store, "a1", &found, &got, &got_expires);
  CHECK(!found);
  cdyn_store_free(store);
}

static void test_conditions(void) {
  char table[128];
  cdyn_store *store = fresh_store("conditions", table, sizeof table);
  cdyn_error *err = NULL;
  int64_t expires = now_secs() + 600;
  CHECK_STATUS(cdyn_store_set(store, "c1", "{\"n\":1}", expires, CDYN_CONDITION_IF_PRESENT, &err),
               CDYN_ERR_CONFLICT, err);
  CHECK_STATUS(cdyn_store_set(store, "c1", "{\"n\":1}", expires, CDYN_CONDITION_IF_ABSENT, &err),
               CDYN_OK, err);
  err = NULL;
  cdyn_status status =
      cdyn_store_set(store, "c1", "{\"n\":2}", expires, CDYN_CONDITION_IF_ABSENT, &err);
  CHECK(status == CDYN_ERR_CONFLICT);
  CHECK(err != NULL && !cdyn_error_retryable(err));
  CHECK(strcmp(cdyn_status_str(cdyn_error_code(err)), "CONFLICT") == 0);
  cdyn_error_free(err);
  CHECK_STATUS(cdyn_store_set(store, "c1", "{\"n\":3}", expires, CDYN_CONDITION_IF_PRESENT, &err),
               CDYN_OK, err);
  bool found = false;
  char *got = NULL;
  int64_t got_expires = 0;
  get_session(store, "c1", &found, &got, &got_expires);
  CHECK(found && strcmp(got, "{\"n\":3}") == 0);
  cdyn_string_free(got);
  /* An expired session counts as absent. */
  CHECK_STATUS(cdyn_store_set(store, "c2", "{}", now_secs() - 10, CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
  CHECK_STATUS(cdyn_store_set(store, "c2", "{}", expires, CDYN_CONDITION_IF_PRESENT, &err),
               CDYN_ERR_CONFLICT, err);
  CHECK_STATUS(cdyn_store_set(store, "c2", "{}", expires, CDYN_CONDITION_IF_ABSENT, &err),
               CDYN_OK, err);
  cdyn_store_free(store);
}

/* Expiry is decided by the store's clock: a manual one here, moved instead of waited for. */
static void test_expiry(void) {
  char table[128];
  cdyn_clock *clock = cdyn_manual_clock_new(now_secs() * 1000);
  CHECK(clock != NULL);
  cdyn_store *store = fresh_store_without_ttl_clock("expiry", table, sizeof table, clock);
  cdyn_error *err = NULL;
  bool found = true;
  char *got = NULL;
  int64_t got_expires = 0;
  /* Already expired when stored: never returned, never touched. */
  CHECK_STATUS(cdyn_store_set(store, "old", "{}", clock_secs(clock) - 60, CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
  get_session(store, "old", &found, &got, &got_expires);
  CHECK(!found);
  cdyn_touch_outcome outcome = CDYN_TOUCH_UPDATED;
  CHECK_STATUS(cdyn_store_touch(store, "old", clock_secs(clock) + 600, &outcome, NULL, &err), CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_NOT_FOUND);
  /* Expires two seconds from now: found, then gone once the (store's) time has passed. */
  int64_t soon = clock_secs(clock) + 2;
  CHECK_STATUS(cdyn_store_set(store, "soon", "{\"a\":1}", soon, CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
  get_session(store, "soon", &found, &got, &got_expires);
  CHECK(found && got_expires == soon);
  cdyn_string_free(got);
  got = NULL;
  /* One second on: still there; at the expiry itself: gone (expired at or before now). */
  CHECK_STATUS(cdyn_clock_advance_ms(clock, 1000, &err), CDYN_OK, err);
  get_session(store, "soon", &found, &got, &got_expires);
  CHECK(found);
  cdyn_string_free(got);
  got = NULL;
  CHECK_STATUS(cdyn_clock_advance_ms(clock, soon * 1000 - cdyn_clock_now_ms(clock), &err), CDYN_OK, err);
  get_session(store, "soon", &found, &got, &got_expires);
  CHECK(!found);
  /* A reaper pass deletes the two expired items and nothing else. */
  CHECK_STATUS(cdyn_store_set(store, "live", "{}", clock_secs(clock) + 600, CDYN_CONDITION_ALWAYS,
                              &err),
               CDYN_OK, err);
  cdyn_reap_report report = {99, 99};
  CHECK_STATUS(cdyn_store_reap(store, &report, &err), CDYN_OK, err);
  CHECK(report.deleted == 2 && report.scanned == 3);
  CHECK_STATUS(cdyn_store_reap(store, &report, &err), CDYN_OK, err);
  CHECK(report.deleted == 0);
  CHECK_STATUS(cdyn_store_clear(store, &report, &err), CDYN_OK, err);
  CHECK(report.deleted == 1); /* only "live" was left */
  CHECK_STATUS(cdyn_store_reap(store, NULL, &err), CDYN_OK, err);

  /* The touch throttle reads the clock too: a touch moving the expiry by less than the throttle
   * (and a tenth of the remaining lifetime) writes nothing, until the clock has moved on. */
  cdyn_store *throttled = store;
  int64_t start = clock_secs(clock);
  CHECK_STATUS(cdyn_store_set(throttled, "t", "{}", start + 3600, CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
  int64_t left = 0;
  CHECK_STATUS(cdyn_store_touch(throttled, "t", start + 3660, &outcome, &left, &err), CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_THROTTLED && left == start + 3600);
  CHECK_STATUS(cdyn_clock_advance_ms(clock, 1800 * 1000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_store_touch(throttled, "t", clock_secs(clock) + 3600, &outcome, &left, &err),
               CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_UPDATED && left == clock_secs(clock) + 3600);
  /* Past the stored expiry, by the clock: not found, and not re-created. */
  CHECK_STATUS(cdyn_clock_advance_ms(clock, 3601 * 1000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_store_touch(throttled, "t", clock_secs(clock) + 3600, &outcome, &left, &err),
               CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_NOT_FOUND && left == 0);
  cdyn_store_free(throttled);

  /* The clock object itself. */
  CHECK(cdyn_manual_clock_new(-1) == NULL);
  CHECK_STATUS(cdyn_clock_advance_ms(NULL, 1, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_clock_advance_ms(clock, INT64_MIN, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK(cdyn_clock_now_ms(NULL) == 0);
  cdyn_clock_free(clock);
  cdyn_clock_free(NULL);
}

static bool list_contains(const cdyn_string_list *list, const char *s) {
  for (size_t i = 0; i < cdyn_string_list_count(list); i++) {
    size_t len = 0;
    const char *item = cdyn_string_list_at(list, i, &len);
    if (item != NULL && len == strlen(s) && strcmp(item, s) == 0) return true;
  }
  return false;
}

static void test_ids_length_clear(void) {
  char table[128];
  cdyn_store *store = fresh_store_without_ttl("scan", table, sizeof table);
  cdyn_error *err = NULL;
  const char *sids[] = {"s-1", "s-2", "s-3"};
  for (int i = 0; i < 3; i++)
    CHECK_STATUS(cdyn_store_set(store, sids[i], "{}", now_secs() + 600, CDYN_CONDITION_ALWAYS,
                                &err),
                 CDYN_OK, err);
  CHECK_STATUS(cdyn_store_set(store, "s-expired", "{}", now_secs() - 5, CDYN_CONDITION_ALWAYS,
                              &err),
               CDYN_OK, err);
  /* Another prefix in the same table is invisible. */
  cdyn_config *other_config = local_config(table);
  CHECK_STATUS(cdyn_config_set_prefix(other_config, "other:", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_scan_segments(other_config, 2, &err), CDYN_OK, err);
  cdyn_store *other = store_from(other_config);
  cdyn_config_free(other_config);
  CHECK_STATUS(cdyn_store_set(other, "x", "{}", now_secs() + 600, CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);

  cdyn_string_list *ids = NULL;
  CHECK_STATUS(cdyn_store_ids(store, &ids, &err), CDYN_OK, err);
  CHECK(cdyn_string_list_count(ids) == 3);
  for (int i = 0; i < 3; i++) CHECK(list_contains(ids, sids[i]));
  CHECK(cdyn_string_list_at(ids, 3, NULL) == NULL);
  cdyn_string_list_free(ids);
  uint64_t length = 99;
  CHECK_STATUS(cdyn_store_length(store, &length, &err), CDYN_OK, err);
  CHECK(length == 3);
  CHECK_STATUS(cdyn_store_length(other, &length, &err), CDYN_OK, err);
  CHECK(length == 1);

  cdyn_reap_report report = {0, 0};
  CHECK_STATUS(cdyn_store_clear(store, &report, &err), CDYN_OK, err);
  /* The three live sessions and the expired one. */
  CHECK(report.deleted == 4);
  CHECK_STATUS(cdyn_store_length(store, &length, &err), CDYN_OK, err);
  CHECK(length == 0);
  CHECK_STATUS(cdyn_store_length(other, &length, &err), CDYN_OK, err);
  CHECK(length == 1);
  CHECK_STATUS(cdyn_store_clear(other, NULL, &err), CDYN_OK, err);
  cdyn_store_free(other);
  cdyn_store_free(store);
}

static void test_table_setup(void) {
  char table[128];
  unique_table(table, sizeof table, "setup");
  cdyn_config *config = local_config(table);
  CHECK_STATUS(cdyn_config_set_billing(config, CDYN_BILLING_PROVISIONED, 2, 3, NULL), CDYN_OK,
               NULL);
  CHECK_STATUS(cdyn_config_set_create_wait(config, 30000, NULL), CDYN_OK, NULL);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  cdyn_error *err = NULL;
  bool exists = true;
  CHECK_STATUS(cdyn_store_table_exists(store, &exists, &err), CDYN_OK, err);
  CHECK(!exists);
  cdyn_string_list *problems = NULL;
  CHECK_STATUS(cdyn_store_verify_table(store, &problems, &err), CDYN_ERR_TABLE_NOT_FOUND, err);
  CHECK(problems == NULL);
  bool created = false;
  CHECK_STATUS(cdyn_store_create_table(store, &created, &problems, &err), CDYN_OK, err);
  CHECK(created);
  CHECK(problems != NULL && cdyn_string_list_count(problems) == 0);
  cdyn_string_list_free(problems);
  CHECK_STATUS(cdyn_store_create_table(store, &created, NULL, &err), CDYN_OK, err);
  CHECK(!created);
  CHECK_STATUS(cdyn_store_table_exists(store, &exists, &err), CDYN_OK, err);
  CHECK(exists);
  CHECK_STATUS(cdyn_store_verify_table(store, &problems, &err), CDYN_OK, err);
  CHECK(cdyn_string_list_count(problems) == 0);
  cdyn_string_list_free(problems);
  cdyn_store_free(store);

  /* A table whose key is not the configured hash key: one problem, in words. */
  cdyn_config *wrong = local_config(table);
  CHECK_STATUS(cdyn_config_set_hash_key(wrong, "sid", NULL), CDYN_OK, NULL);
  store = store_from(wrong);
  cdyn_config_free(wrong);
  CHECK_STATUS(cdyn_store_verify_table(store, &problems, &err), CDYN_OK, err);
  CHECK(cdyn_string_list_count(problems) == 1);
  const char *problem = cdyn_string_list_at(problems, 0, NULL);
  CHECK(problem != NULL && strstr(problem, "key schema") != NULL);
  cdyn_string_list_free(problems);
  cdyn_store_free(store);
}

/* Every option has a setter; valid values are taken, invalid ones refused naming the field. */
static void test_config(void) {
  cdyn_config *c = cdyn_config_new();
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_config_set_table(c, "my-app.sessions_v2", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_prefix(c, "", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_hash_key(c, "sid", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_region(c, "eu-west-1", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_endpoint(c, "http://127.0.0.1:8000", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_credentials(c, "AKID", "secret", "token", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_consistent_read(c, false, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_default_lifetime(c, 3600000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_touch_after(c, 0, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_reap_interval(c, 0, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_billing(c, CDYN_BILLING_ON_DEMAND, 0, 0, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_create_wait(c, 1000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_connect_timeout(c, 1000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_attempt_timeout(c, 1000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_operation_timeout(c, 3000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_max_attempts(c, 10, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_scan_segments(c, 64, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_first_use(c, CDYN_FIRST_USE_CHECK, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_first_use(c, CDYN_FIRST_USE_NOTHING, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_first_use(c, CDYN_FIRST_USE_CREATE, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_first_use(c, 3, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_first_use(NULL, CDYN_FIRST_USE_CHECK, &err), CDYN_ERR_INVALID_ARGUMENT,
               err);
  CHECK_STATUS(cdyn_config_set_clock(c, NULL, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_tombstone_lifetime(c, 0, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_tombstone_lifetime(c, 3600000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_merge(c, CDYN_MERGE_MINE, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_merge(c, CDYN_MERGE_ERROR, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_merge(c, CDYN_MERGE_OFF, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_merge(c, 3, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_absolute_timeout(c, 8 * 3600 * 1000, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_absolute_timeout(c, 0, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_user_field(c, "passport.user", &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_user_field(c, NULL, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_user_field(c, "_auth_user_id", &err), CDYN_OK, err);

  /* The error names the option and its setter (also through cdyn_error_field), which is the
   * call that was refused. */
#define REFUSED(call, field)                                                     \
  do {                                                                           \
    err = NULL;                                                                  \
    CHECK((call) == CDYN_ERR_INVALID_CONFIG);                                    \
    CHECK(err != NULL && strstr(cdyn_error_message(err), field) != NULL);        \
    CHECK(cdyn_error_code(err) == CDYN_ERR_INVALID_CONFIG);                      \
    const char *setter_ = cdyn_error_field(err);                                 \
    CHECK(setter_ != NULL && strncmp(#call, setter_, strlen(setter_)) == 0 &&    \
          #call[strlen(setter_)] == '(');                                         \
    CHECK(setter_ != NULL && strstr(cdyn_error_message(err), setter_) != NULL);  \
    cdyn_error_free(err);                                                        \
  } while (0)
  REFUSED(cdyn_config_set_table(c, "ab", &err), "`table`");
  REFUSED(cdyn_config_set_table(c, "has space", &err), "`table`");
  REFUSED(cdyn_config_set_hash_key(c, "expires", &err), "`hash_key`");
  char long_prefix[1100];
  memset(long_prefix, 'p', 1025);
  long_prefix[1025] = '\0';
  REFUSED(cdyn_config_set_prefix(c, long_prefix, &err), "`prefix`");
  REFUSED(cdyn_config_set_region(c, "US East", &err), "`region`");
  REFUSED(cdyn_config_set_region(c, "", &err), "`region`");
  REFUSED(cdyn_config_set_endpoint(c, "localhost:8000", &err), "`endpoint`");
  REFUSED(cdyn_config_set_credentials(c, "", "secret", NULL, &err), "`credentials.access_key_id`");
  REFUSED(cdyn_config_set_credentials(c, "AKID", "", NULL, &err), "`credentials.secret_access_key`");
  REFUSED(cdyn_config_set_default_lifetime(c, 0, &err), "`default_lifetime`");
  REFUSED(cdyn_config_set_touch_after(c, UINT64_MAX, &err), "`touch_after`");
  REFUSED(cdyn_config_set_reap_interval(c, 10, &err), "`reap_interval`");
  REFUSED(cdyn_config_set_billing(c, CDYN_BILLING_PROVISIONED, 0, 5, &err), "`read_units`");
  REFUSED(cdyn_config_set_create_wait(c, 0, &err), "`create_wait`");
  REFUSED(cdyn_config_set_connect_timeout(c, 0, &err), "`connect_timeout`");
  REFUSED(cdyn_config_set_attempt_timeout(c, UINT64_MAX, &err), "`attempt_timeout`");
  REFUSED(cdyn_config_set_operation_timeout(c, 3600001, &err), "`operation_timeout`");
  REFUSED(cdyn_config_set_max_attempts(c, 0, &err), "`max_attempts`");
  REFUSED(cdyn_config_set_max_attempts(c, 11, &err), "`max_attempts`");
  REFUSED(cdyn_config_set_scan_segments(c, 65, &err), "`scan_segments`");
  REFUSED(cdyn_config_set_billing(c, CDYN_BILLING_PROVISIONED, 5, 40001, &err), "`write_units`");
  REFUSED(cdyn_config_set_tombstone_lifetime(c, UINT64_MAX, &err), "`tombstone_lifetime`");
  REFUSED(cdyn_config_set_absolute_timeout(c, UINT64_MAX, &err), "`absolute_timeout`");
  REFUSED(cdyn_config_set_user_field(c, "", &err), "`user_field`");
  REFUSED(cdyn_config_set_user_field(c, "passport..user", &err), "`user_field`");
  REFUSED(cdyn_config_set_user_field(c, "passport.", &err), "`user_field`");
  char long_field[300];
  memset(long_field, 'f', 256);
  long_field[256] = '\0';
  REFUSED(cdyn_config_set_user_field(c, long_field, &err), "`user_field`");
  /* With a user field set, the items get a `user` attribute: the hash key cannot be `user`. */
  REFUSED(cdyn_config_set_hash_key(c, "user", &err), "`hash_key`");
#undef REFUSED
  /* Errors other than INVALID_CONFIG name no setter. */
  CHECK(cdyn_config_set_table(NULL, "t", &err) == CDYN_ERR_INVALID_ARGUMENT);
  CHECK(cdyn_error_field(err) == NULL);
  cdyn_error_free(err);
  CHECK(cdyn_error_field(NULL) == NULL);

  /* Refused values leave the configuration as it was: it still builds a store. */
  cdyn_store *store = NULL;
  CHECK_STATUS(cdyn_store_new(c, &store, &err), CDYN_OK, err);
  cdyn_store_free(store);
  cdyn_config_free(c);

  /* A reaper configured on a store starts with it and stops with it: its scans reach a fake
   * DynamoDB (answering every request with an empty result) about every second without any
   * call, and none arrive once the store is freed. */
  fake_server fake;
  fake_server_start(&fake, "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                           "Content-Length: 2\r\n\r\n{}");
  char endpoint[64];
  snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", fake.port);
  cdyn_config *r = local_config_at("sessions", endpoint);
  CHECK_STATUS(cdyn_config_set_first_use(r, CDYN_FIRST_USE_NOTHING, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_reap_interval(r, 1000, &err), CDYN_OK, err);
  /* One segment: the fake server answers one connection at a time. */
  CHECK_STATUS(cdyn_config_set_scan_segments(r, 1, &err), CDYN_OK, err);
  store = store_from(r);
  cdyn_config_free(r);
  double deadline = monotonic_secs() + 10;
  while (atomic_load(&fake.requests) < 2 && monotonic_secs() < deadline) usleep(20 * 1000);
  CHECK(atomic_load(&fake.requests) >= 2); /* two passes, about a second apart */
  cdyn_store_free(store);
  /* A request already on its way may still land; after that, silence for over two intervals
   * (the absence of requests cannot be awaited, only watched for a while). */
  usleep(300 * 1000);
  int after_free = atomic_load(&fake.requests);
  usleep(2500 * 1000);
  CHECK(atomic_load(&fake.requests) == after_free);
  fake_server_stop(&fake);
}

/* Every status a real server (or a fake one, for THROTTLED and SERVICE) can produce. */
static void expect_failure(cdyn_store *store, cdyn_status expected, bool retryable) {
  cdyn_error *err = NULL;
  bool found = true;
  char *json = (char *)"sentinel";
  int64_t expires = 7;
  cdyn_status status = cdyn_store_get(store, SID_SECRET, &found, &json, NULL, &expires, &err);
  CHECK(status == expected);
  if (status != expected)
    fprintf(stderr, "  got %s: %s\n", cdyn_status_str(status), cdyn_error_message(err));
  CHECK(!found && json == NULL && expires == 0);
  CHECK(err != NULL && cdyn_error_code(err) == expected);
  CHECK(cdyn_error_retryable(err) == retryable);
  /* No session id in a message. */
  CHECK(strstr(cdyn_error_message(err), SID_SECRET) == NULL);
  CHECK(strlen(cdyn_error_message(err)) > 0);
  cdyn_error_free(err);
}

static cdyn_store *fault_store(const char *endpoint, const char *key_id) {
  cdyn_config *c = local_config_at("sessions", endpoint);
  if (key_id != NULL) CHECK_STATUS(cdyn_config_set_credentials(c, key_id, "s", NULL, NULL), CDYN_OK, NULL);
  /* The session call itself meets the fault, without a table check first. */
  CHECK_STATUS(cdyn_config_set_first_use(c, CDYN_FIRST_USE_NOTHING, NULL), CDYN_OK, NULL);
  CHECK_STATUS(cdyn_config_set_max_attempts(c, 1, NULL), CDYN_OK, NULL);
  CHECK_STATUS(cdyn_config_set_connect_timeout(c, 500, NULL), CDYN_OK, NULL);
  CHECK_STATUS(cdyn_config_set_attempt_timeout(c, 400, NULL), CDYN_OK, NULL);
  CHECK_STATUS(cdyn_config_set_operation_timeout(c, 800, NULL), CDYN_OK, NULL);
  cdyn_store *store = store_from(c);
  cdyn_config_free(c);
  return store;
}

static char *amz_response(const char *status_line, const char *type) {
  char body[256];
  snprintf(body, sizeof body, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#%s\",\"message\":\"fake\"}", type);
  char *response = malloc(1024);
  snprintf(response, 1024,
           "HTTP/1.1 %s\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: fake\r\n"
           "Content-Length: %zu\r\n\r\n%s",
           status_line, strlen(body), body);
  return response;
}

static void test_every_status(void) {
  char table[128];
  cdyn_store *store = fresh_store("statuses", table, sizeof table);
  cdyn_error *err = NULL;

  /* INVALID_CONFIG and INVALID_ARGUMENT */
  cdyn_config *c = cdyn_config_new();
  CHECK_STATUS(cdyn_config_set_scan_segments(c, 0, &err), CDYN_ERR_INVALID_CONFIG, err);
  cdyn_config_free(c);
  CHECK_STATUS(cdyn_store_destroy(store, "", &err), CDYN_ERR_INVALID_ARGUMENT, err);
  /* SERIALIZATION and ITEM_TOO_LARGE, refused before any request */
  CHECK_STATUS(cdyn_store_set(store, "j", "{not json", 0, CDYN_CONDITION_ALWAYS, &err),
               CDYN_ERR_SERIALIZATION, err);
  size_t big = 500 * 1024;
  char *large = malloc(big + 16);
  strcpy(large, "{\"x\":\"");
  memset(large + 6, 'a', big);
  strcpy(large + 6 + big, "\"}");
  CHECK_STATUS(cdyn_store_set(store, "big", large, 0, CDYN_CONDITION_ALWAYS, &err),
               CDYN_ERR_ITEM_TOO_LARGE, err);
  free(large);
  /* CONFLICT */
  CHECK_STATUS(cdyn_store_set(store, "none", "{}", 0, CDYN_CONDITION_IF_PRESENT, &err),
               CDYN_ERR_CONFLICT, err);
  cdyn_store_free(store);

  /* TABLE_NOT_FOUND */
  char missing[128];
  unique_table(missing, sizeof missing, "missing");
  cdyn_config *mc = local_config(missing);
  /* No table check on first use: the session call itself finds the table missing. */
  CHECK_STATUS(cdyn_config_set_first_use(mc, CDYN_FIRST_USE_NOTHING, NULL), CDYN_OK, NULL);
  store = store_from(mc);
  cdyn_config_free(mc);
  expect_failure(store, CDYN_ERR_TABLE_NOT_FOUND, false);
  cdyn_store_free(store);

  /* AUTH: DynamoDB Local accepts only key ids of letters and digits. */
  store = fault_store(NULL, "not-a-valid-key!");
  expect_failure(store, CDYN_ERR_AUTH, false);
  cdyn_store_free(store);

  /* TRANSPORT: nothing listens on the port. */
  char endpoint[64];
  snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", closed_port());
  store = fault_store(endpoint, NULL);
  expect_failure(store, CDYN_ERR_TRANSPORT, true);
  cdyn_store_free(store);

  /* TIMEOUT: a server that accepts and never answers. */
  fake_server silent;
  fake_server_start(&silent, NULL);
  snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", silent.port);
  store = fault_store(endpoint, NULL);
  double t0 = monotonic_secs();
  expect_failure(store, CDYN_ERR_TIMEOUT, true);
  CHECK(monotonic_secs() - t0 < 5);
  cdyn_store_free(store);
  fake_server_stop(&silent);

  /* THROTTLED and SERVICE: DynamoDB's answers, from a fake server. */
  struct {
    const char *status_line, *type;
    cdyn_status expected;
    bool retryable;
  } answers[] = {
      {"400 Bad Request", "ThrottlingException", CDYN_ERR_THROTTLED, true},
      {"400 Bad Request", "ProvisionedThroughputExceededException", CDYN_ERR_THROTTLED, true},
      {"500 Internal Server Error", "InternalServerError", CDYN_ERR_SERVICE, true},
      {"400 Bad Request", "SomethingNewException", CDYN_ERR_SERVICE, false},
      {"400 Bad Request", "UnrecognizedClientException", CDYN_ERR_AUTH, false},
      {"400 Bad Request", "ResourceNotFoundException", CDYN_ERR_TABLE_NOT_FOUND, false},
  };
  for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
    char *response = amz_response(answers[i].status_line, answers[i].type);
    fake_server fake;
    fake_server_start(&fake, response);
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", fake.port);
    store = fault_store(endpoint, NULL);
    expect_failure(store, answers[i].expected, answers[i].retryable);
    cdyn_store_free(store);
    CHECK(atomic_load(&fake.requests) >= 1);
    fake_server_stop(&fake);
    free(response);
  }
}

/* Create-on-first-use, the default: the first session call on a missing table creates it. */
static void test_first_use_creates_the_table(void) {
  char table[128];
  unique_table(table, sizeof table, "first-use");
  cdyn_config *config = local_config(table);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  cdyn_error *err = NULL;
  bool exists = true;
  CHECK_STATUS(cdyn_store_table_exists(store, &exists, &err), CDYN_OK, err);
  CHECK(!exists); /* cdyn_store_new and table_exists make no table */
  CHECK_STATUS(cdyn_store_set(store, "f1", "{\"first\":true}", now_secs() + 600,
                              CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
  CHECK_STATUS(cdyn_store_table_exists(store, &exists, &err), CDYN_OK, err);
  CHECK(exists);
  /* Created as cdyn_store_create_table creates it: fit for sessions (TTL on). */
  cdyn_string_list *problems = NULL;
  CHECK_STATUS(cdyn_store_verify_table(store, &problems, &err), CDYN_OK, err);
  CHECK(problems != NULL && cdyn_string_list_count(problems) == 0);
  cdyn_string_list_free(problems);
  bool found = false;
  char *got = NULL;
  int64_t got_expires = 0;
  get_session(store, "f1", &found, &got, &got_expires);
  CHECK(found && got != NULL && strcmp(got, "{\"first\":true}") == 0);
  cdyn_string_free(got);
  cdyn_store_free(store);
}

/* CDYN_FIRST_USE_CHECK: a missing table is TABLE_NOT_FOUND, and stays missing. */
static void test_first_use_check(void) {
  char table[128];
  unique_table(table, sizeof table, "first-check");
  cdyn_config *config = local_config(table);
  CHECK_STATUS(cdyn_config_set_first_use(config, CDYN_FIRST_USE_CHECK, NULL), CDYN_OK, NULL);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_store_set(store, "c1", "{}", 0, CDYN_CONDITION_ALWAYS, &err),
               CDYN_ERR_TABLE_NOT_FOUND, err);
  expect_failure(store, CDYN_ERR_TABLE_NOT_FOUND, false);
  bool exists = true;
  CHECK_STATUS(cdyn_store_table_exists(store, &exists, &err), CDYN_OK, err);
  CHECK(!exists);
  cdyn_store_free(store);
}

/* A DynamoDB that accepts connections and never answers, with every option at its default
 * (the table check on first use included): CDYN_ERR_TIMEOUT within ten seconds. */
static void test_timeout_with_default_options(void) {
  fake_server silent;
  fake_server_start(&silent, NULL);
  char endpoint[64];
  snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", silent.port);
  cdyn_config *c = local_config_at("sessions", endpoint);
  cdyn_store *store = store_from(c);
  cdyn_config_free(c);
  double t0 = monotonic_secs();
  expect_failure(store, CDYN_ERR_TIMEOUT, true);
  double took = monotonic_secs() - t0;
  CHECK(took < 10);
  printf("  timed out after %.1f s with the default options\n", took);
  cdyn_store_free(store);
  fake_server_stop(&silent);
}

/* NULL pointers, non-UTF-8 text, oversized and unknown values: INVALID_ARGUMENT, no crash. */
static void test_bad_input(void) {
  char table[128];
  cdyn_store *store = fresh_store("bad-input", table, sizeof table);
  cdyn_error *err = NULL;
  const char *not_utf8 = "\xff\xfe\x80";
  bool found = false;
  char *json = NULL;
  int64_t expires = 0;

  CHECK_STATUS(cdyn_store_get(NULL, "a", &found, &json, NULL, NULL, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_get(store, NULL, &found, &json, NULL, NULL, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_get(store, not_utf8, &found, &json, NULL, NULL, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_get(store, "a", NULL, &json, NULL, NULL, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_get(store, "a", &found, NULL, NULL, NULL, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_get(store, "", &found, &json, NULL, &expires, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  /* The message names the argument. */
  CHECK(cdyn_store_get(store, "a", &found, NULL, NULL, NULL, &err) == CDYN_ERR_INVALID_ARGUMENT);
  CHECK(strstr(cdyn_error_message(err), "`session`") != NULL);
  cdyn_error_free(err);
  /* An oversized session id (the key may be at most 2048 bytes). */
  char *long_sid = malloc(3001);
  memset(long_sid, 's', 3000);
  long_sid[3000] = '\0';
  CHECK_STATUS(cdyn_store_get(store, long_sid, &found, &json, NULL, NULL, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_set(store, long_sid, "{}", 0, CDYN_CONDITION_ALWAYS, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  free(long_sid);

  CHECK_STATUS(cdyn_store_set(store, "a", NULL, 0, CDYN_CONDITION_ALWAYS, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_set(store, "a", not_utf8, 0, CDYN_CONDITION_ALWAYS, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_set(store, "a", "{}", 0, 7, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_set(store, "a", "{}", -5, CDYN_CONDITION_ALWAYS, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_set(store, "a", "{}", INT64_MAX, CDYN_CONDITION_ALWAYS, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_set(store, "a", "{}", 100000000000LL, CDYN_CONDITION_ALWAYS, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_touch(store, "a", INT64_MIN, NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_touch(NULL, "a", 0, NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_destroy(store, not_utf8, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_ids(store, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_ids(NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_length(store, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_clear(NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_reap(NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_table_exists(store, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_verify_table(store, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_create_table(NULL, NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  /* cdyn_store_save: as cdyn_store_set; its outputs are written only on success. */
  cdyn_save_outcome saved = CDYN_SAVE_ENDED;
  bool has_written = true;
  uint64_t written = 77;
  uint64_t loaded = 3;
  CHECK_STATUS(cdyn_store_save(NULL, "a", "{}", 0, CDYN_CONDITION_ALWAYS, NULL, &saved, &has_written, &written,
                               &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_save(store, "a", "{}", 0, 7, &loaded, &saved, &has_written, &written, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_save(store, "", "{}", 0, CDYN_CONDITION_ALWAYS, NULL, &saved, &has_written, &written,
                               &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_save(store, "a", "{nope", 0, CDYN_CONDITION_ALWAYS, &loaded, &saved, &has_written,
                               &written, &err),
               CDYN_ERR_SERIALIZATION, err);
  CHECK(saved == CDYN_SAVE_ENDED && has_written && written == 77);
  /* Every output may be NULL. With merging off (this store) no version is written, and a
   * loaded version is ignored. */
  CHECK_STATUS(cdyn_store_save(store, "a", "{}", 0, CDYN_CONDITION_ALWAYS, NULL, NULL, NULL, NULL, &err), CDYN_OK,
               err);
  CHECK_STATUS(cdyn_store_save(store, "a", "{}", 0, CDYN_CONDITION_ALWAYS, &loaded, &saved, &has_written,
                               &written, &err),
               CDYN_OK, err);
  CHECK(saved == CDYN_SAVE_WRITTEN && !has_written && written == 0);
  /* cdyn_store_load: as cdyn_store_get; with merging off a session has no version. */
  bool has_version = true;
  uint64_t version = 77;
  CHECK_STATUS(cdyn_store_load(store, "a", &found, &json, NULL, NULL, &has_version, &version, &err), CDYN_OK, err);
  CHECK(found && json != NULL && strcmp(json, "{}") == 0 && !has_version && version == 0);
  cdyn_string_free(json);
  CHECK_STATUS(cdyn_store_load(store, "a", &found, &json, NULL, NULL, NULL, NULL, &err), CDYN_OK, err);
  CHECK(found && json != NULL);
  cdyn_string_free(json);
  has_version = true;
  version = 77;
  found = true;
  json = (char *)"x";
  CHECK_STATUS(cdyn_store_load(NULL, "a", &found, &json, NULL, NULL, &has_version, &version, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK(!found && json == NULL && !has_version && version == 0); /* set as for a missing session */
  CHECK_STATUS(cdyn_store_load(store, not_utf8, &found, &json, NULL, NULL, NULL, NULL, &err),
               CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_load(store, "", &found, &json, NULL, NULL, NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT,
               err);
  CHECK_STATUS(cdyn_store_load(store, "a", NULL, &json, NULL, NULL, NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT,
               err);
  CHECK_STATUS(cdyn_store_load(store, "a", &found, NULL, NULL, NULL, NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT,
               err);
  /* A user's sessions: NULL arguments, and no user field configured. */
  cdyn_user_session_list *sessions = (cdyn_user_session_list *)&found;
  CHECK_STATUS(cdyn_store_user_sessions(NULL, "u", &sessions, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK(sessions == NULL);
  CHECK_STATUS(cdyn_store_user_sessions(store, "u", NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_store_user_sessions(store, "u", &sessions, &err), CDYN_ERR_INVALID_CONFIG, err);
  CHECK(sessions == NULL);
  uint64_t ended = 5;
  CHECK_STATUS(cdyn_store_end_user_sessions(NULL, "u", NULL, &ended, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK(ended == 0);
  CHECK_STATUS(cdyn_store_end_user_sessions(store, "u", NULL, NULL, &err), CDYN_ERR_INVALID_CONFIG, err);

  /* Without an error out-parameter the status still tells. */
  CHECK(cdyn_store_get(store, NULL, &found, &json, NULL, NULL, NULL) == CDYN_ERR_INVALID_ARGUMENT);

  /* Configuration setters and the constructor. */
  cdyn_config *c = cdyn_config_new();
  CHECK_STATUS(cdyn_config_set_table(NULL, "t", &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_table(c, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_table(c, not_utf8, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_endpoint(c, not_utf8, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_credentials(c, "a", NULL, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_credentials(c, "a", "b", not_utf8, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_billing(c, 9, 1, 1, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_consistent_read(NULL, true, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_tombstone_lifetime(NULL, 0, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_merge(NULL, CDYN_MERGE_OFF, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_merge(c, 99, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_absolute_timeout(NULL, 0, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_user_field(NULL, "u", &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK_STATUS(cdyn_config_set_user_field(c, not_utf8, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  cdyn_store *out = (cdyn_store *)&found;
  CHECK_STATUS(cdyn_store_new(NULL, &out, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  CHECK(out == NULL);
  CHECK_STATUS(cdyn_store_new(c, NULL, &err), CDYN_ERR_INVALID_ARGUMENT, err);
  cdyn_config_free(c);

  /* Accessors and free functions accept NULL. */
  CHECK(cdyn_error_code(NULL) == CDYN_OK);
  CHECK(strcmp(cdyn_error_message(NULL), "") == 0);
  CHECK(!cdyn_error_retryable(NULL));
  CHECK(cdyn_string_list_count(NULL) == 0);
  size_t len = 5;
  CHECK(cdyn_string_list_at(NULL, 0, &len) == NULL && len == 0);
  CHECK(cdyn_user_session_list_count(NULL) == 0);
  CHECK(cdyn_user_session_list_at(NULL, 0) == NULL);
  cdyn_user_session_list_free(NULL);
  cdyn_error_free(NULL);
  cdyn_string_free(NULL);
  cdyn_string_list_free(NULL);
  cdyn_config_free(NULL);
  cdyn_store_free(NULL);

  /* Status names. */
  CHECK(strcmp(cdyn_status_str(CDYN_OK), "OK") == 0);
  CHECK(strcmp(cdyn_status_str(CDYN_ERR_INVALID_CONFIG), "INVALID_CONFIG") == 0);
  CHECK(strcmp(cdyn_status_str(CDYN_ERR_TABLE_NOT_FOUND), "TABLE_NOT_FOUND") == 0);
  CHECK(strcmp(cdyn_status_str(CDYN_ERR_INTERNAL), "INTERNAL") == 0);
  CHECK(strcmp(cdyn_status_str(CDYN_ERR_UNREADABLE), "UNREADABLE") == 0);
  CHECK(strcmp(cdyn_status_str(14), "UNKNOWN") == 0);
  CHECK(strcmp(cdyn_status_str(-1), "UNKNOWN") == 0);
  /* Codes never change; new ones are appended. */
  CHECK(CDYN_ERR_INTERNAL == 12 && CDYN_ERR_INVALID_CONFIG == 1 && CDYN_OK == 0);
  CHECK(CDYN_ERR_UNREADABLE == 13);
  CHECK(strlen(cdyn_version()) > 0);
  cdyn_store_free(store);
}

/* A previous error in *error is replaced by NULL on success (the caller frees errors first). */
static void test_error_out_parameter(void) {
  cdyn_config *c = cdyn_config_new();
  cdyn_error *err = NULL;
  CHECK(cdyn_config_set_table(c, "x", &err) == CDYN_ERR_INVALID_CONFIG);
  CHECK(err != NULL);
  cdyn_error_free(err);
  err = (cdyn_error *)c; /* garbage that must be overwritten, not read */
  CHECK(cdyn_config_set_table(c, "valid-name", &err) == CDYN_OK);
  CHECK(err == NULL);
  cdyn_config_free(c);
}

int main(int argc, char **argv) {
  const test_case tests[] = {
      {"round_trip", test_round_trip},
      {"conditions", test_conditions},
      {"expiry", test_expiry},
      {"ids_length_clear", test_ids_length_clear},
      {"table_setup", test_table_setup},
      {"config", test_config},
      {"every_status", test_every_status},
      {"first_use_creates_the_table", test_first_use_creates_the_table},
      {"first_use_check", test_first_use_check},
      {"timeout_with_default_options", test_timeout_with_default_options},
      {"bad_input", test_bad_input},
      {"error_out_parameter", test_error_out_parameter},
  };
  return run_tests("test_store", tests, sizeof tests / sizeof tests[0], argc, argv);
}
