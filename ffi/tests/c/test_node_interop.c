/* Reads from C a session written by the Node package (ffi/tests/node-writes-session.js), and
 * changes it.
 *
 *   test_node_interop TABLE SID EXPIRES EXPECTED_JSON_FILE [ENCRYPTION_KEY_BASE64]
 *
 * With a key, Node wrote the session encrypted (it had the key in
 * CONNECT_DYNAMODB_ENCRYPTION_KEYS): the C store is given the same key with
 * cdyn_config_add_encryption_key_base64, and the raw item must stay binary after the C write;
 * without, it must stay the JSON text.
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

static const char *table, *sid, *expected_path, *key_base64;
static int64_t expected_expires;

static void test_reads_node_session(void) {
  char *expected = read_file(expected_path);
  CHECK(expected != NULL && strlen(expected) > 0);
  cdyn_config *config = local_config(table);
  cdyn_error *err = NULL;
  if (key_base64 != NULL)
    CHECK_STATUS(cdyn_config_add_encryption_key_base64(config, key_base64, &err), CDYN_OK, err);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
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
  /* A C write of a change, read back; the raw item keeps the format of the Node write. */
  const char *changed = "{\"cookie\":{\"originalMaxAge\":3600000,\"httpOnly\":true,\"path\":\"/\"},"
                        "\"user\":{\"name\":\"Ada\",\"roles\":[\"admin\"]},\"changedBy\":\"C\"}";
  CHECK_STATUS(cdyn_store_set(store, sid, changed, left, CDYN_CONDITION_IF_PRESENT, &err), CDYN_OK, err);
  found = false;
  json = NULL;
  expires = 0;
  CHECK_STATUS(cdyn_store_get(store, sid, &found, &json, &len, &expires, &err), CDYN_OK, err);
  CHECK(found && json != NULL && strcmp(json, changed) == 0);
  CHECK(expires == left);
  cdyn_string_free(json);
  raw_item items[2];
  int n = raw_items_read(table, items, 2);
  CHECK(n == 1);
  if (n == 1) {
    char key[256];
    snprintf(key, sizeof key, "sess:%s", sid);
    CHECK(strcmp(items[0].id, key) == 0);
    if (key_base64 != NULL) {
      CHECK(strcmp(items[0].type, "B") == 0);
      CHECK(!bytes_contain(items[0].sess, items[0].sess_len, "changedBy"));
      CHECK(!bytes_contain(items[0].sess, items[0].sess_len, "Ada"));
    } else {
      CHECK(strcmp(items[0].type, "S") == 0 && items[0].sess_len == strlen(changed) &&
            memcmp(items[0].sess, changed, strlen(changed)) == 0);
    }
  }
  raw_items_free(items, n > 0 ? n : 0);
  /* A store without the key cannot read an encrypted session. */
  if (key_base64 != NULL) {
    config = local_config(table);
    cdyn_store *keyless = store_from(config);
    cdyn_config_free(config);
    found = true;
    json = NULL;
    CHECK_STATUS(cdyn_store_get(keyless, sid, &found, &json, NULL, NULL, &err), CDYN_ERR_UNREADABLE, err);
    CHECK(!found && json == NULL);
    cdyn_store_free(keyless);
  }
  cdyn_store_free(store);
  free(expected);
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: %s TABLE SID EXPIRES EXPECTED_JSON_FILE [ENCRYPTION_KEY_BASE64]\n", argv[0]);
    return 2;
  }
  table = argv[1];
  sid = argv[2];
  expected_expires = strtoll(argv[3], NULL, 10);
  expected_path = argv[4];
  key_base64 = argc == 6 ? argv[5] : NULL;
  /* The key comes from the command line only; a store without it must not find one in the
   * environment. */
  unsetenv("CONNECT_DYNAMODB_ENCRYPTION_KEYS");
  unsetenv("CONNECT_DYNAMODB_ID_HASH_KEY");
  const test_case tests[] = {{"reads_node_session", test_reads_node_session}};
  return run_tests("test_node_interop", tests, 1, 1, argv);
}
