/* Data at rest through the C API: encryption with rotating keys, hashed session ids and
 * compression (cdyn_config_add_encryption_key, cdyn_config_set_id_hash_key,
 * cdyn_config_set_compress_threshold, cdyn_config_set_decrypt_only), cdyn_store_reencrypt and CDYN_ERR_UNREADABLE, against
 * DynamoDB Local. What the table holds is read raw through ffi/tests/raw-items.js.
 *
 *   test_at_rest [TEST...]
 *
 * With CONNECT_DYNAMODB_ENCRYPTION_KEYS and CONNECT_DYNAMODB_ID_HASH_KEY set (to ENV_KEY_B64
 * and ENV_HASH_B64, as run.sh does), the program runs only keys_from_the_environment: a store
 * built with no key takes its keys from there. Without them it runs every other test.
 */
#include "harness.h"

/* Test keys, never for real sessions. */
#define KEY_LEN 32
#define K2_B64 "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk8="
#define ENV_KEY_B64 "UFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm8="
#define ENV_HASH_B64 "cHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWlw=="

static unsigned char k1[KEY_LEN], k2[KEY_LEN], k3[KEY_LEN], hash_key[40];

/* A key of `len` bytes counting up from `first`. */
static void fill_key(unsigned char *key, size_t len, unsigned char first) {
  for (size_t i = 0; i < len; i++) key[i] = (unsigned char)(first + i);
}

/* A configuration for `table` with the encryption keys given (NULL-terminated list of 32-byte
 * keys), and optionally a hash key and a compress threshold (CDYN_COMPRESS_NEVER: none). */
static cdyn_config *at_rest_config(const char *table, const unsigned char *const *keys,
                                   const unsigned char *id_hash_key, uint64_t threshold) {
  cdyn_config *config = local_config(table);
  cdyn_error *err = NULL;
  for (int i = 0; keys != NULL && keys[i] != NULL; i++)
    CHECK_STATUS(cdyn_config_add_encryption_key(config, keys[i], KEY_LEN, &err), CDYN_OK, err);
  if (id_hash_key != NULL)
    CHECK_STATUS(cdyn_config_set_id_hash_key(config, id_hash_key, sizeof hash_key, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_compress_threshold(config, threshold, &err), CDYN_OK, err);
  return config;
}

static cdyn_store *at_rest_store(const char *table, const unsigned char *const *keys,
                                 const unsigned char *id_hash_key, uint64_t threshold) {
  cdyn_config *config = at_rest_config(table, keys, id_hash_key, threshold);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  return store;
}

static void create_table(cdyn_store *store) {
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_store_create_table(store, NULL, NULL, &err), CDYN_OK, err);
}

/* Gets `sid` and checks it is `expected` (NULL: not found). */
static void check_get(cdyn_store *store, const char *sid, const char *expected) {
  cdyn_error *err = NULL;
  bool found = false;
  char *session = NULL;
  CHECK_STATUS(cdyn_store_get(store, sid, &found, &session, NULL, NULL, &err), CDYN_OK, err);
  CHECK(found == (expected != NULL));
  if (expected != NULL) {
    CHECK(session != NULL && strcmp(session, expected) == 0);
    if (session != NULL && strcmp(session, expected) != 0)
      fprintf(stderr, "%s:\n  read:     %s\n  expected: %s\n", sid, session, expected);
  }
  cdyn_string_free(session);
}

static void set_session(cdyn_store *store, const char *sid, const char *session) {
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_store_set(store, sid, session, CDYN_EXPIRES_DEFAULT, CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
}

/* A session text of about `size` bytes with `marker` in it. */
static char *session_text(const char *marker, size_t size) {
  char *text = malloc(size + 128);
  CHECK(text != NULL);
  if (text == NULL) exit(1);
  int used = snprintf(text, size + 128, "{\"user\":\"%s\",\"cart\":\"", marker);
  for (; (size_t)used < size; used++) text[used] = (char)('a' + used % 7);
  snprintf(text + used, 128, "\"}");
  return text;
}

/* Every option on: the session reads back, touches and ends as always, while the table holds
 * a binary `sess` without the session's text and a key that is not prefix + id. */
static void test_round_trip_with_every_option(void) {
  char table[128];
  unique_table(table, sizeof table, "at-rest");
  const unsigned char *keys[] = {k1, NULL};
  cdyn_store *store = at_rest_store(table, keys, hash_key, 64);
  create_table(store);
  const char *sid = "at-rest-sid-0001";
  const char *small_sid = "at-rest-sid-0002";
  char *big = session_text("plaintext-marker-ada", 4000);
  const char *small = "{\"user\":\"plaintext-marker-bob\"}";
  set_session(store, sid, big);
  set_session(store, small_sid, small);
  check_get(store, sid, big);
  check_get(store, small_sid, small);

  raw_item items[8];
  int n = raw_items_read(table, items, 8);
  CHECK(n == 2);
  char plain_key[64];
  for (int i = 0; i < n; i++) {
    /* The key: the prefix and 43 characters of base64url, neither id. */
    CHECK(strncmp(items[i].id, "sess:", 5) == 0 && strlen(items[i].id) == 5 + 43);
    for (const char *id = sid; id != NULL; id = id == sid ? small_sid : NULL) {
      snprintf(plain_key, sizeof plain_key, "sess:%s", id);
      CHECK(strcmp(items[i].id, plain_key) != 0);
      CHECK(strstr(items[i].id, id) == NULL);
      CHECK(!bytes_contain(items[i].sess, items[i].sess_len, id));
    }
    /* The session: binary, without its text, the compressed one shorter than its text. */
    CHECK(strcmp(items[i].type, "B") == 0);
    CHECK(items[i].sess_len > 0);
    CHECK(!bytes_contain(items[i].sess, items[i].sess_len, "plaintext-marker"));
    CHECK(!bytes_contain(items[i].sess, items[i].sess_len, "\"user\""));
    CHECK(!bytes_contain(items[i].sess, items[i].sess_len, "abcdefgabcdefg"));
    if (items[i].sess_len > strlen(small) + 100) CHECK(items[i].sess_len < 2000);
  }
  raw_items_free(items, n > 0 ? n : 0);

  /* Listings name sessions by their hash, never by their id. */
  cdyn_error *err = NULL;
  cdyn_string_list *ids = NULL;
  CHECK_STATUS(cdyn_store_ids(store, &ids, &err), CDYN_OK, err);
  CHECK(cdyn_string_list_count(ids) == 2);
  for (size_t i = 0; i < cdyn_string_list_count(ids); i++) {
    const char *id = cdyn_string_list_at(ids, i, NULL);
    CHECK(id != NULL && strlen(id) == 43 && strcmp(id, sid) != 0 && strcmp(id, small_sid) != 0);
  }
  cdyn_string_list_free(ids);
  uint64_t length = 0;
  CHECK_STATUS(cdyn_store_length(store, &length, &err), CDYN_OK, err);
  CHECK(length == 2);

  /* Touch moves the expiry of the hashed item; destroy ends it. */
  cdyn_touch_outcome outcome = CDYN_TOUCH_NOT_FOUND;
  int64_t left = 0;
  int64_t later = now_secs() + 7 * 86400;
  CHECK_STATUS(cdyn_store_touch(store, sid, later, &outcome, &left, &err), CDYN_OK, err);
  CHECK(outcome == CDYN_TOUCH_UPDATED && left == later);
  bool found = false;
  char *session = NULL;
  int64_t expires = 0;
  CHECK_STATUS(cdyn_store_get(store, sid, &found, &session, NULL, &expires, &err), CDYN_OK, err);
  CHECK(found && expires == later && session != NULL && strcmp(session, big) == 0);
  cdyn_string_free(session);
  CHECK_STATUS(cdyn_store_destroy(store, sid, &err), CDYN_OK, err);
  check_get(store, sid, NULL);
  check_get(store, small_sid, small);
  CHECK_STATUS(cdyn_store_length(store, &length, &err), CDYN_OK, err);
  CHECK(length == 1);

  /* A store with the same keys but without the hash key looks under another key: no session. */
  cdyn_store *unhashed = at_rest_store(table, keys, NULL, CDYN_COMPRESS_NEVER);
  check_get(unhashed, small_sid, NULL);
  cdyn_store_free(unhashed);
  free(big);
  cdyn_store_free(store);
}

/* Checks that `call` failed with `expected`, that the error names `field` (for
 * CDYN_ERR_INVALID_CONFIG, with `option` in its message), and that no `secret` appears in the
 * message. Frees the error. */
static void check_refused(cdyn_status status, cdyn_error *err, cdyn_status expected, const char *field,
                          const char *option, const char *const *secrets) {
  CHECK(status == expected);
  CHECK(err != NULL && cdyn_error_code(err) == expected);
  const char *message = cdyn_error_message(err);
  const char *named = cdyn_error_field(err);
  if (field != NULL) {
    CHECK(named != NULL && strcmp(named, field) == 0);
    CHECK(strstr(message, field) != NULL);
    CHECK(strstr(message, option) != NULL);
  } else {
    CHECK(named == NULL);
  }
  for (int i = 0; secrets != NULL && secrets[i] != NULL; i++) {
    CHECK(strstr(message, secrets[i]) == NULL);
    if (strstr(message, secrets[i]) != NULL) fprintf(stderr, "the message shows a key: %s\n", message);
  }
  if (status != expected)
    fprintf(stderr, "status %s, expected %s (%s)\n", cdyn_status_str(status), cdyn_status_str(expected),
            message);
  cdyn_error_free(err);
}

/* Bad keys are refused by their setter with CDYN_ERR_INVALID_CONFIG naming it, and the message
 * shows no key; NULL arguments are CDYN_ERR_INVALID_ARGUMENT; the configuration is unchanged. */
static void test_bad_keys_are_refused(void) {
  cdyn_config *config = local_config("c-at-rest-bad-keys");
  cdyn_error *err = NULL;
  /* Printable "keys", so that the messages can be searched for them. */
  const char *short_key = "short-secret-key-material-31-by";
  const char *long_hash = "long-secret-hash-key-material-that-runs-on-past-the-64-byte-limit!";
  const char *not_base64 = "SECRETSECRET*not*base64*SECRETSECRET";
  const char *short_b64 = "c2hvcnQtc2VjcmV0LWtleQ"; /* "short-secret-key" */
  const char *secrets[] = {short_key, long_hash, "SECRETSECRET", short_b64, "short-secret", K2_B64, NULL};
  const char *enc = "cdyn_config_add_encryption_key";
  const char *hash = "cdyn_config_set_id_hash_key";

  cdyn_status s = cdyn_config_add_encryption_key(config, (const unsigned char *)short_key, 31, &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, enc, "encryption_keys", secrets);
  s = cdyn_config_add_encryption_key(config, (const unsigned char *)short_key, 0, &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, enc, "encryption_keys", secrets);
  s = cdyn_config_add_encryption_key_base64(config, not_base64, &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, enc, "encryption_keys", secrets);
  s = cdyn_config_add_encryption_key_base64(config, short_b64, &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, enc, "encryption_keys", secrets);
  s = cdyn_config_add_encryption_key_base64(config, "", &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, enc, "encryption_keys", secrets);
  s = cdyn_config_set_id_hash_key(config, (const unsigned char *)long_hash, strlen(long_hash), &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, hash, "id_hash_key", secrets);
  s = cdyn_config_set_id_hash_key(config, k1, 31, &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, hash, "id_hash_key", secrets);
  s = cdyn_config_set_id_hash_key_base64(config, not_base64, &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, hash, "id_hash_key", secrets);
  s = cdyn_config_set_compress_threshold(config, (uint64_t)1 << 40, &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, "cdyn_config_set_compress_threshold",
                "compress_threshold", secrets);

  /* NULL arguments. */
  s = cdyn_config_add_encryption_key(config, NULL, KEY_LEN, &err);
  check_refused(s, err, CDYN_ERR_INVALID_ARGUMENT, NULL, NULL, secrets);
  s = cdyn_config_add_encryption_key_base64(config, NULL, &err);
  check_refused(s, err, CDYN_ERR_INVALID_ARGUMENT, NULL, NULL, secrets);
  s = cdyn_config_set_id_hash_key(config, NULL, 40, &err);
  check_refused(s, err, CDYN_ERR_INVALID_ARGUMENT, NULL, NULL, secrets);
  s = cdyn_config_set_id_hash_key_base64(config, NULL, &err);
  check_refused(s, err, CDYN_ERR_INVALID_ARGUMENT, NULL, NULL, secrets);
  s = cdyn_config_add_encryption_key(NULL, k1, KEY_LEN, &err);
  check_refused(s, err, CDYN_ERR_INVALID_ARGUMENT, NULL, NULL, secrets);
  s = cdyn_config_add_encryption_key_base64(NULL, K2_B64, &err);
  check_refused(s, err, CDYN_ERR_INVALID_ARGUMENT, NULL, NULL, secrets);
  s = cdyn_config_set_id_hash_key(NULL, hash_key, sizeof hash_key, &err);
  check_refused(s, err, CDYN_ERR_INVALID_ARGUMENT, NULL, NULL, secrets);
  s = cdyn_config_set_id_hash_key_base64(NULL, ENV_HASH_B64, &err);
  check_refused(s, err, CDYN_ERR_INVALID_ARGUMENT, NULL, NULL, secrets);
  s = cdyn_config_set_compress_threshold(NULL, 10, &err);
  check_refused(s, err, CDYN_ERR_INVALID_ARGUMENT, NULL, NULL, secrets);
  /* Without an error out-parameter the status still tells. */
  CHECK(cdyn_config_add_encryption_key(config, k1, 16, NULL) == CDYN_ERR_INVALID_CONFIG);

  /* A key given twice (as bytes, then as base64 of the same bytes), and more than 16 keys. */
  CHECK_STATUS(cdyn_config_add_encryption_key_base64(config, K2_B64, &err), CDYN_OK, err);
  s = cdyn_config_add_encryption_key(config, k2, KEY_LEN, &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, enc, "encryption_keys", secrets);
  unsigned char extra[KEY_LEN];
  cdyn_status last = CDYN_OK;
  int added = 1;
  for (int i = 0; i < 20 && last == CDYN_OK; i++) {
    fill_key(extra, KEY_LEN, (unsigned char)(0xA0 + i));
    last = cdyn_config_add_encryption_key(config, extra, KEY_LEN, &err);
    if (last == CDYN_OK) added++;
  }
  CHECK(added == 16);
  check_refused(last, err, CDYN_ERR_INVALID_CONFIG, enc, "encryption_keys", secrets);

  /* Refused calls changed nothing: the configuration still builds. */
  cdyn_store *store = store_from(config);
  cdyn_store_free(store);
  cdyn_config_free(config);
}

typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
  cdyn_status status;
  cdyn_reencrypted report;
} reencrypt_wait;

static void on_reencrypted(void *user_data, cdyn_status status, cdyn_reencrypted report, cdyn_error *err) {
  reencrypt_wait *w = user_data;
  pthread_mutex_lock(&w->mutex);
  w->status = status;
  w->report = report;
  w->done++;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mutex);
  cdyn_error_free(err);
}

/* Key rotation: store A (K1) writes; store B (K2 first, then K1) re-encrypts every session;
 * store C (K2 only) then reads them all, and a store with K1 only reads none. */
static void test_reencrypt_across_rotation(void) {
  char table[128];
  unique_table(table, sizeof table, "rotate");
  const unsigned char *only_k1[] = {k1, NULL};
  const unsigned char *k2_then_k1[] = {k2, k1, NULL};
  const unsigned char *only_k2[] = {k2, NULL};
  const unsigned char *only_k3[] = {k3, NULL};
  cdyn_store *a = at_rest_store(table, only_k1, NULL, CDYN_COMPRESS_NEVER);
  create_table(a);
  enum { SESSIONS = 5 };
  char sids[SESSIONS][32], texts[SESSIONS][64];
  for (int i = 0; i < SESSIONS; i++) {
    snprintf(sids[i], sizeof sids[i], "rotate-%d", i);
    snprintf(texts[i], sizeof texts[i], "{\"n\":%d,\"who\":\"rotated-%d\"}", i, i);
    set_session(a, sids[i], texts[i]);
  }
  /* One session ended: its tombstone is neither rewritten nor unreadable. */
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_store_destroy(a, sids[SESSIONS - 1], &err), CDYN_OK, err);
  const int live = SESSIONS - 1;

  cdyn_store *b = at_rest_store(table, k2_then_k1, NULL, CDYN_COMPRESS_NEVER);
  /* B reads A's sessions before the rotation too. */
  check_get(b, sids[0], texts[0]);
  cdyn_reencrypted report = {99, 99, 99};
  CHECK_STATUS(cdyn_store_reencrypt(b, &report, &err), CDYN_OK, err);
  CHECK(report.rewritten == (uint64_t)live);
  CHECK(report.unreadable == 0);
  CHECK(report.scanned >= (uint64_t)SESSIONS);
  if (report.rewritten != (uint64_t)live || report.unreadable != 0)
    fprintf(stderr, "reencrypt: scanned %llu, rewritten %llu, unreadable %llu\n",
            (unsigned long long)report.scanned, (unsigned long long)report.rewritten,
            (unsigned long long)report.unreadable);
  /* Again: nothing left to rewrite (the non-blocking twin). */
  reencrypt_wait w = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
  CHECK_STATUS(cdyn_store_reencrypt_async(b, on_reencrypted, &w, &err), CDYN_OK, err);
  CHECK(wait_for_count(&w.mutex, &w.cond, &w.done, 1, 30));
  CHECK(w.status == CDYN_OK && w.report.rewritten == 0 && w.report.unreadable == 0);
  CHECK(w.report.scanned >= (uint64_t)SESSIONS);
  CHECK(cdyn_store_reencrypt_async(b, NULL, NULL, NULL) == CDYN_ERR_INVALID_ARGUMENT);

  cdyn_store *c = at_rest_store(table, only_k2, NULL, CDYN_COMPRESS_NEVER);
  for (int i = 0; i < live; i++) check_get(c, sids[i], texts[i]);
  check_get(c, sids[SESSIONS - 1], NULL);
  uint64_t length = 0;
  CHECK_STATUS(cdyn_store_length(c, &length, &err), CDYN_OK, err);
  CHECK(length == (uint64_t)live);

  /* K1 alone reads none of them any more, and a store with another key reports them all
   * unreadable, changing nothing. */
  bool found = true;
  char *session = NULL;
  CHECK_STATUS(cdyn_store_get(a, sids[0], &found, &session, NULL, NULL, &err), CDYN_ERR_UNREADABLE, err);
  CHECK(!found && session == NULL);
  cdyn_store *other = at_rest_store(table, only_k3, NULL, CDYN_COMPRESS_NEVER);
  report = (cdyn_reencrypted){0, 0, 0};
  CHECK_STATUS(cdyn_store_reencrypt(other, &report, &err), CDYN_OK, err);
  CHECK(report.rewritten == 0 && report.unreadable == (uint64_t)live);
  check_get(c, sids[0], texts[0]);

  /* A store without keys has nothing to re-encrypt with. */
  cdyn_store *plain = at_rest_store(table, NULL, NULL, CDYN_COMPRESS_NEVER);
  cdyn_status s = cdyn_store_reencrypt(plain, &report, &err);
  check_refused(s, err, CDYN_ERR_INVALID_CONFIG, "cdyn_config_add_encryption_key", "encryption_keys", NULL);
  CHECK(cdyn_store_reencrypt(NULL, NULL, NULL) == CDYN_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(cdyn_store_reencrypt(c, NULL, &err), CDYN_OK, err);

  cdyn_store_free(plain);
  cdyn_store_free(other);
  cdyn_store_free(c);
  cdyn_store_free(b);
  cdyn_store_free(a);
}

/* A store lacking the key gets CDYN_ERR_UNREADABLE, with the outputs of no session; listings
 * leave the session out; the session stays as it was for a store with the key. A plain
 * session is read by an encrypting store and encrypted by its next write. */
static void test_unreadable_without_the_key(void) {
  char table[128];
  unique_table(table, sizeof table, "unreadable");
  const unsigned char *only_k1[] = {k1, NULL};
  const unsigned char *only_k2[] = {k2, NULL};
  cdyn_store *writer = at_rest_store(table, only_k1, NULL, CDYN_COMPRESS_NEVER);
  create_table(writer);
  const char *text = "{\"user\":\"unreadable-ada\"}";
  set_session(writer, "locked", text);
  cdyn_store *wrong = at_rest_store(table, only_k2, NULL, CDYN_COMPRESS_NEVER);
  cdyn_store *plain = at_rest_store(table, NULL, NULL, CDYN_COMPRESS_NEVER);
  for (cdyn_store *reader = wrong; reader != NULL; reader = reader == wrong ? plain : NULL) {
    cdyn_error *err = NULL;
    bool found = true;
    char *session = (char *)"not reset";
    size_t len = 7;
    int64_t expires = 7;
    cdyn_status s = cdyn_store_get(reader, "locked", &found, &session, &len, &expires, &err);
    CHECK(s == CDYN_ERR_UNREADABLE);
    CHECK(err != NULL && cdyn_error_code(err) == CDYN_ERR_UNREADABLE && !cdyn_error_retryable(err));
    CHECK(strcmp(cdyn_status_str(s), "UNREADABLE") == 0);
    CHECK(err != NULL && strstr(cdyn_error_message(err), "locked") == NULL);
    CHECK(!found && session == NULL && len == 0 && expires == 0);
    cdyn_error_free(err);
    uint64_t length = 99;
    CHECK_STATUS(cdyn_store_length(reader, &length, &err), CDYN_OK, err);
    CHECK(length == 0);
  }
  check_get(writer, "locked", text);
  CHECK(strcmp(cdyn_status_str(CDYN_ERR_UNREADABLE), "UNREADABLE") == 0);

  /* Plain text written before encryption was on reads, and is encrypted by the next write. */
  const char *plain_text = "{\"user\":\"plain-before\"}";
  set_session(plain, "was-plain", plain_text);
  check_get(writer, "was-plain", plain_text);
  set_session(writer, "was-plain", "{\"user\":\"now-encrypted\"}");
  raw_item items[4];
  int n = raw_items_read(table, items, 4);
  CHECK(n == 2);
  for (int i = 0; i < n; i++) {
    CHECK(strcmp(items[i].type, "B") == 0);
    CHECK(!bytes_contain(items[i].sess, items[i].sess_len, "encrypted"));
  }
  raw_items_free(items, n > 0 ? n : 0);
  cdyn_store_free(plain);
  cdyn_store_free(wrong);
  cdyn_store_free(writer);
}

/* Compression alone: a long session is stored binary (and shorter), a short one as text that
 * connect-dynamodb 3.x reads. */
static void test_compression_alone(void) {
  char table[128];
  unique_table(table, sizeof table, "compress");
  cdyn_store *store = at_rest_store(table, NULL, NULL, 256);
  create_table(store);
  char *big = session_text("compressed-marker", 8000);
  const char *small = "{\"user\":\"short-and-plain\"}";
  set_session(store, "big", big);
  set_session(store, "small", small);
  check_get(store, "big", big);
  check_get(store, "small", small);
  raw_item items[4];
  int n = raw_items_read(table, items, 4);
  CHECK(n == 2);
  for (int i = 0; i < n; i++) {
    if (strcmp(items[i].id, "sess:big") == 0) {
      CHECK(strcmp(items[i].type, "B") == 0 && items[i].sess_len < 2000);
    } else {
      CHECK(strcmp(items[i].id, "sess:small") == 0);
      CHECK(strcmp(items[i].type, "S") == 0 && items[i].sess_len == strlen(small) &&
            memcmp(items[i].sess, small, strlen(small)) == 0);
    }
  }
  raw_items_free(items, n > 0 ? n : 0);
  /* Every store reads compressed sessions, whatever its own threshold. */
  cdyn_store *reader = at_rest_store(table, NULL, NULL, CDYN_COMPRESS_NEVER);
  check_get(reader, "big", big);
  cdyn_store_free(reader);
  free(big);
  cdyn_store_free(store);
}

/* Encryption turned on in two deploys: keys that only decrypt, then keys that encrypt; no store
 * ever meets a session it cannot read. */
static void test_decrypt_only_then_encrypt(void) {
  char table[128];
  unique_table(table, sizeof table, "decrypt-only");
  const unsigned char *only_k1[] = {k1, NULL};
  cdyn_store *before = at_rest_store(table, NULL, NULL, CDYN_COMPRESS_NEVER);
  create_table(before);
  cdyn_error *err = NULL;
  /* Without keys decrypt_only is refused, naming its setter. */
  cdyn_config *keyless = local_config(table);
  CHECK(cdyn_config_set_decrypt_only(keyless, true, &err) == CDYN_ERR_INVALID_CONFIG);
  CHECK(err != NULL && strcmp(cdyn_error_field(err), "cdyn_config_set_decrypt_only") == 0);
  cdyn_error_free(err);
  err = NULL;
  cdyn_config_free(keyless);
  cdyn_config *config = at_rest_config(table, only_k1, NULL, CDYN_COMPRESS_NEVER);
  CHECK_STATUS(cdyn_config_set_decrypt_only(config, true, &err), CDYN_OK, err);
  cdyn_store *reading = store_from(config);
  cdyn_config_free(config);
  cdyn_store *writing = at_rest_store(table, only_k1, NULL, CDYN_COMPRESS_NEVER);

  set_session(before, "a", "{\"n\":1}");
  set_session(reading, "b", "{\"n\":2}");
  set_session(writing, "c", "{\"n\":3}");
  check_get(before, "b", "{\"n\":2}");
  const char *sids[] = {"a", "b", "c"};
  const char *texts[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
  for (int i = 0; i < 3; i++) {
    check_get(reading, sids[i], texts[i]);
    check_get(writing, sids[i], texts[i]);
  }
  raw_item items[4];
  int n = raw_items_read(table, items, 4);
  CHECK(n == 3);
  for (int i = 0; i < n; i++)
    CHECK(strcmp(items[i].type, strcmp(items[i].id, "sess:c") == 0 ? "B" : "S") == 0);
  raw_items_free(items, n > 0 ? n : 0);
  cdyn_reencrypted report;
  CHECK_STATUS(cdyn_store_reencrypt(reading, &report, &err), CDYN_ERR_INVALID_CONFIG, err);
  for (cdyn_store *s = before; s != NULL; s = s == before ? reading : s == reading ? writing : NULL)
    cdyn_store_free(s);
}

static char env_keys[256], env_hash[256];

/* A store built with no key takes its keys from CONNECT_DYNAMODB_ENCRYPTION_KEYS and
 * CONNECT_DYNAMODB_ID_HASH_KEY; a bad variable is CDYN_ERR_INVALID_CONFIG naming the setter and
 * the variable, not the key. */
static void test_keys_from_the_environment(void) {
  CHECK(strcmp(env_keys, ENV_KEY_B64) == 0 && strcmp(env_hash, ENV_HASH_B64) == 0);
  /* Before any library thread runs: bad values in the environment (not base64; 14 bytes). */
  const char *secrets[] = {"c2VjcmV0LWVudi1rZXk", "secret-env-key", "SECRET", NULL};
  cdyn_config *config = cdyn_config_new();
  cdyn_error *err = NULL;
  cdyn_store *store = NULL;
  const char *bad[] = {"SECRET*not*base64", "c2VjcmV0LWVudi1rZXk"};
  for (int i = 0; i < 2; i++) {
    setenv("CONNECT_DYNAMODB_ENCRYPTION_KEYS", bad[i], 1);
    cdyn_status s = cdyn_store_new(config, &store, &err);
    CHECK(store == NULL);
    if (i == 0) {
      /* The message says where the key came from. */
      CHECK(err != NULL && strstr(cdyn_error_message(err), "CONNECT_DYNAMODB_ENCRYPTION_KEYS") != NULL);
      if (err != NULL && strstr(cdyn_error_message(err), "CONNECT_DYNAMODB_ENCRYPTION_KEYS") == NULL)
        fprintf(stderr, "the message does not name the variable: %s\n", cdyn_error_message(err));
    }
    check_refused(s, err, CDYN_ERR_INVALID_CONFIG, "cdyn_config_add_encryption_key", "encryption_keys", secrets);
  }
  /* A key added in C wins over the environment. */
  CHECK_STATUS(cdyn_config_add_encryption_key(config, k1, KEY_LEN, &err), CDYN_OK, err);
  cdyn_config_free(config);
  setenv("CONNECT_DYNAMODB_ENCRYPTION_KEYS", env_keys, 1);

  char table[128];
  unique_table(table, sizeof table, "env-keys");
  store = at_rest_store(table, NULL, NULL, CDYN_COMPRESS_NEVER);
  create_table(store);
  const char *sid = "env-keyed-sid";
  const char *text = "{\"user\":\"env-plaintext\"}";
  set_session(store, sid, text);
  check_get(store, sid, text);
  raw_item items[2];
  int n = raw_items_read(table, items, 2);
  CHECK(n == 1);
  if (n == 1) {
    CHECK(strcmp(items[0].type, "B") == 0);
    CHECK(!bytes_contain(items[0].sess, items[0].sess_len, "env-plaintext"));
    CHECK(strcmp(items[0].id, "sess:env-keyed-sid") != 0 && strlen(items[0].id) == 5 + 43);
  }
  raw_items_free(items, n > 0 ? n : 0);
  cdyn_store_free(store);
  /* A store given the same keys explicitly reads it. */
  config = local_config(table);
  CHECK_STATUS(cdyn_config_add_encryption_key_base64(config, ENV_KEY_B64, &err), CDYN_OK, err);
  CHECK_STATUS(cdyn_config_set_id_hash_key_base64(config, ENV_HASH_B64, &err), CDYN_OK, err);
  store = store_from(config);
  cdyn_config_free(config);
  check_get(store, sid, text);
  cdyn_store_free(store);
}

int main(int argc, char **argv) {
  fill_key(k1, KEY_LEN, 0x10);
  fill_key(k2, KEY_LEN, 0x30);
  fill_key(k3, KEY_LEN, 0x50);
  fill_key(hash_key, sizeof hash_key, 0x70);
  const char *keys = getenv("CONNECT_DYNAMODB_ENCRYPTION_KEYS");
  const char *hash = getenv("CONNECT_DYNAMODB_ID_HASH_KEY");
  if (keys != NULL || hash != NULL) {
    snprintf(env_keys, sizeof env_keys, "%s", keys ? keys : "");
    snprintf(env_hash, sizeof env_hash, "%s", hash ? hash : "");
    const test_case tests[] = {{"keys_from_the_environment", test_keys_from_the_environment}};
    return run_tests("test_at_rest", tests, 1, argc, argv);
  }
  const test_case tests[] = {
      {"round_trip_with_every_option", test_round_trip_with_every_option},
      {"bad_keys_are_refused", test_bad_keys_are_refused},
      {"reencrypt_across_rotation", test_reencrypt_across_rotation},
      {"unreadable_without_the_key", test_unreadable_without_the_key},
      {"compression_alone", test_compression_alone},
      {"decrypt_only_then_encrypt", test_decrypt_only_then_encrypt},
  };
  return run_tests("test_at_rest", tests, sizeof tests / sizeof tests[0], argc, argv);
}
