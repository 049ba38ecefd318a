/* The user index added to a table made before the user field was set: a store's first use
 * (CDYN_FIRST_USE_CREATE, the default) leaves the table as it is, verify_table reports the
 * index missing, listing fails with TABLE_NOT_FOUND, and create_table adds it (UpdateTable)
 * and waits for it.
 *
 * Runs on a fresh DynamoDB Local of its own (ffi/tests/run.sh): DynamoDB Local 3.3.1 leaves an
 * index added to an existing table CREATING for ever (its log: "table ... has no column named
 * indexKey_0") once the server has served the suite's other tables, and after five such
 * indexes refuses UpdateTable with LimitExceededException. */
#include "harness.h"

static size_t count_sessions(cdyn_store *store, const char *user) {
  cdyn_user_session_list *list = NULL;
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_store_user_sessions(store, user, &list, &err), CDYN_OK, err);
  size_t n = cdyn_user_session_list_count(list);
  cdyn_user_session_list_free(list);
  return n;
}

static void save_session(cdyn_store *store, const char *sid, const char *json) {
  cdyn_error *err = NULL;
  cdyn_save_outcome outcome = CDYN_SAVE_ENDED;
  CHECK_STATUS(cdyn_store_save(store, sid, json, now_secs() + 600, CDYN_CONDITION_ALWAYS, NULL, &outcome, NULL,
                               NULL, &err),
               CDYN_OK, err);
  CHECK(outcome == CDYN_SAVE_WRITTEN);
}

static void test_user_index_added_later(void) {
  char table[128];
  cdyn_store *plain = fresh_store("users-later", table, sizeof table);
  /* A session saved before the option was on carries no user. */
  save_session(plain, "before", "{\"userId\":\"ada\"}");
  cdyn_store_free(plain);
  cdyn_config *config = local_config(table);
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_config_set_user_field(config, "userId", &err), CDYN_OK, err);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  /* The first session call checks the table, which exists: the index is not added there. */
  save_session(store, "first-use", "{\"userId\":\"bob\"}");
  cdyn_string_list *problems = NULL;
  CHECK_STATUS(cdyn_store_verify_table(store, &problems, &err), CDYN_OK, err);
  CHECK(cdyn_string_list_count(problems) == 1);
  const char *problem = cdyn_string_list_at(problems, 0, NULL);
  CHECK(problem != NULL && strstr(problem, "user-index") != NULL);
  cdyn_string_list_free(problems);
  /* Listing needs the index: TABLE_NOT_FOUND, naming the call that adds it. */
  cdyn_user_session_list *list = NULL;
  CHECK(cdyn_store_user_sessions(store, "ada", &list, &err) == CDYN_ERR_TABLE_NOT_FOUND);
  CHECK(list == NULL);
  CHECK(err != NULL && strstr(cdyn_error_message(err), "user-index") != NULL &&
        strstr(cdyn_error_message(err), "create_table") != NULL);
  cdyn_error_free(err);
  err = NULL;
  bool created = true;
  CHECK_STATUS(cdyn_store_create_table(store, &created, &problems, &err), CDYN_OK, err);
  CHECK(!created); /* the table was there; the index is added */
  CHECK(problems != NULL && cdyn_string_list_count(problems) == 0);
  cdyn_string_list_free(problems);
  CHECK_STATUS(cdyn_store_verify_table(store, &problems, &err), CDYN_OK, err);
  CHECK(cdyn_string_list_count(problems) == 0);
  cdyn_string_list_free(problems);
  save_session(store, "after", "{\"userId\":\"ada\"}");
  CHECK(count_sessions(store, "ada") == 1);
  /* Saved again with the option on, the older session is listed too. */
  save_session(store, "before", "{\"userId\":\"ada\",\"n\":1}");
  CHECK(count_sessions(store, "ada") == 2);
  cdyn_store_free(store);
}

int main(int argc, char **argv) {
  const test_case tests[] = {{"user_index_added_later", test_user_index_added_later}};
  return run_tests("test_user_index", tests, sizeof tests / sizeof tests[0], argc, argv);
}
