/* Reads from C a session written by the Node package (ffi/tests/node-writes-session.js).
 *
 *   test_node_interop TABLE SID EXPIRES EXPECTED_JSON_FILE
 */
#include "harness.h"

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  char *text = calloc(1, 1 << 20);
  size_t n = fread(text, 1, (1 << 20) - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

static const char *table, *sid, *expected_path;
static int64_t expected_expires;

static void test_reads_node_session(void) {
  char *expected = read_file(expected_path);
  CHECK(expected != NULL && strlen(expected) > 0);
  cdyn_config *config = local_config(table);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  cdyn_error *err = NULL;
  bool found = false;
  char *json = NULL;
  size_t len = 0;
  int64_t expires = 0;
  CHECK_STATUS(cdyn_store_get(store, sid, &found, &json, &len, &expires, &err), CDYN_OK, err);
  CHECK(found);
  CHECK(json != NULL && expected != NULL && strcmp(json, expected) == 0);
  CHECK(json != NULL && len == strlen(json));
  CHECK(expires == expected_expires);
  if (json && expected && strcmp(json, expected) != 0)
    fprintf(stderr, "read:     %s\nexpected: %s\n", json, expected);
  cdyn_string_free(json);
  /* The table Node created is fit for sessions (TTL on `expires`). */
  cdyn_string_list *problems = NULL;
  CHECK_STATUS(cdyn_store_verify_table(store, &problems, &err), CDYN_OK, err);
  CHECK(cdyn_string_list_count(problems) == 0);
  cdyn_string_list_free(problems);
  /* And a C touch is seen by the next C read. */
  cdyn_touch_outcome outcome = CDYN_TOUCH_NOT_FOUND;
  int64_t left = 0;
  CHECK_STATUS(cdyn_store_touch(store, sid, expected_expires + 86400, &outcome, &left, &err), CDYN_OK, err);
  CHECK(left == expected_expires + 86400);
  CHECK(outcome == CDYN_TOUCH_UPDATED);
  cdyn_store_free(store);
  free(expected);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s TABLE SID EXPIRES EXPECTED_JSON_FILE\n", argv[0]);
    return 2;
  }
  table = argv[1];
  sid = argv[2];
  expected_expires = strtoll(argv[3], NULL, 10);
  expected_path = argv[4];
  const test_case tests[] = {{"reads_node_session", test_reads_node_session}};
  return run_tests("test_node_interop", tests, 1, 1, argv);
}
