/* The shared vectors of tests/vectors/stored-items.json, read through the C API, so that the C
 * face is held to the behaviour of the Rust core and the other faces. The items of one
 * configuration of the vectors (the defaults, `at-rest` or `at-rest-hashed`) are written raw
 * into TABLE by ffi/tests/write-vectors.js, which also writes the settings and expectations read
 * here; run.sh runs this program once per configuration.
 *
 *   test_vectors TABLE DIR
 *
 * DIR/config.tsv has the store's settings, one "<setting>\t<value>" line each
 * (`encryption_key` in base64, in order; `id_hash_key` in base64; `compress_threshold`);
 * DIR/expected.tsv has one line per vector, "<name>\t<found 1|0>\t<error token|->\t<listed
 * id|->"; DIR/<name>.sess holds the exact session text of a found one.
 */
#include "harness.h"

static const char *table, *dir;

/* Reads a whole file; `*len` receives its length in bytes. NULL when it cannot be read. */
static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 4096, used = 0;
  char *text = malloc(cap);
  for (;;) {
    if (text == NULL) break;
    used += fread(text + used, 1, cap - used, f);
    if (used < cap) break;
    cap *= 2;
    char *bigger = realloc(text, cap);
    if (bigger == NULL) free(text);
    text = bigger;
  }
  bool failed = ferror(f) != 0;
  fclose(f);
  if (text == NULL || failed) {
    free(text);
    return NULL;
  }
  *len = used;
  return text;
}

/* Reads DIR/<file> as NUL-terminated text; NULL when it cannot be read. */
static char *read_text(const char *file) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  size_t len = 0;
  char *text = read_all(path, &len);
  if (text == NULL) return NULL;
  char *terminated = realloc(text, len + 1);
  if (terminated == NULL) {
    free(text);
    return NULL;
  }
  terminated[len] = '\0';
  return terminated;
}

/* Splits `line` at tabs into at most `max` fields; returns how many. */
static int split_tabs(char *line, char **fields, int max) {
  int n = 0;
  char *save = NULL;
  for (char *f = strtok_r(line, "\t", &save); f != NULL && n < max; f = strtok_r(NULL, "\t", &save))
    fields[n++] = f;
  return n;
}

/* A store on TABLE with the settings of DIR/config.tsv, through the C setters. */
static cdyn_store *vector_store(void) {
  cdyn_config *config = local_config(table);
  char *settings = read_text("config.tsv");
  CHECK(settings != NULL);
  char *save = NULL;
  for (char *line = settings ? strtok_r(settings, "\n", &save) : NULL; line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    char *fields[2];
    CHECK(split_tabs(line, fields, 2) == 2);
    cdyn_error *err = NULL;
    if (strcmp(fields[0], "encryption_key") == 0) {
      CHECK_STATUS(cdyn_config_add_encryption_key_base64(config, fields[1], &err), CDYN_OK, err);
    } else if (strcmp(fields[0], "id_hash_key") == 0) {
      CHECK_STATUS(cdyn_config_set_id_hash_key_base64(config, fields[1], &err), CDYN_OK, err);
    } else if (strcmp(fields[0], "compress_threshold") == 0) {
      CHECK_STATUS(cdyn_config_set_compress_threshold(config, strtoull(fields[1], NULL, 10), &err),
                   CDYN_OK, err);
    } else {
      fprintf(stderr, "unknown setting %s\n", fields[0]);
      CHECK(false);
    }
  }
  free(settings);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  return store;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_reads_every_vector(void) {
  char *text = read_text("expected.tsv");
  CHECK(text != NULL);
  if (text == NULL) return;
  cdyn_store *store = vector_store();
  char path[4096];
  int vectors = 0, live = 0, errors = 0;
  const char *listed[256];
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    char *fields[4];
    int n = split_tabs(line, fields, 4);
    CHECK(n == 4 && (strcmp(fields[1], "1") == 0 || strcmp(fields[1], "0") == 0));
    if (n != 4) continue;
    const char *name = fields[0];
    bool expected_found = strcmp(fields[1], "1") == 0;
    const char *expected_error = strcmp(fields[2], "-") == 0 ? NULL : fields[2];
    vectors++;
    cdyn_error *err = NULL;
    bool found = !expected_found;
    char *session = NULL;
    size_t len = 12345;
    int64_t expires = -1;
    int64_t before = now_secs();
    cdyn_status status = cdyn_store_get(store, name, &found, &session, &len, &expires, &err);
    if (expected_error != NULL) {
      /* The vector's error token is the status's, and the outputs are those of no session. */
      errors++;
      CHECK(strcmp(cdyn_status_str(status), expected_error) == 0);
      CHECK(err != NULL && cdyn_error_code(err) == status);
      CHECK(err != NULL && strcmp(cdyn_status_str(cdyn_error_code(err)), expected_error) == 0);
      if (strcmp(cdyn_status_str(status), expected_error) != 0)
        fprintf(stderr, "%s: status %s, expected %s (%s)\n", name, cdyn_status_str(status),
                expected_error, cdyn_error_message(err));
      CHECK(!found && session == NULL && len == 0 && expires == 0);
      cdyn_error_free(err);
      continue;
    }
    check_status_at(__FILE__, __LINE__, status, CDYN_OK, err);
    CHECK(found == expected_found);
    if (found != expected_found) fprintf(stderr, "%s: found %d, expected %d\n", name, found, expected_found);
    if (expected_found) {
      CHECK(live < (int)(sizeof listed / sizeof listed[0]));
      if (live < (int)(sizeof listed / sizeof listed[0])) listed[live] = fields[3];
      live++;
      snprintf(path, sizeof path, "%s/%s.sess", dir, name);
      size_t want_len = 0;
      char *want = read_all(path, &want_len);
      CHECK(want != NULL && want_len > 0);
      CHECK(session != NULL && len == want_len && memcmp(session, want, want_len) == 0);
      CHECK(session != NULL && session[len] == '\0' && strlen(session) == len);
      CHECK(expires > before);
      if (session != NULL && want != NULL && (len != want_len || memcmp(session, want, want_len) != 0))
        fprintf(stderr, "%s:\n  read:     %s (%zu bytes)\n  expected: %.*s (%zu bytes)\n", name, session,
                len, (int)want_len, want, want_len);
      free(want);
    } else {
      CHECK(session == NULL && len == 0 && expires == 0);
    }
    cdyn_string_free(session);
  }
  /* The vectors of each configuration hold live and dead items both. */
  CHECK(live >= 1 && live < vectors);

  /* cdyn_store_ids and cdyn_store_length agree with cdyn_store_get: they list the found
   * vectors by their key after the prefix (the hash of the id when ids are hashed), and leave
   * out what cdyn_store_get cannot read. */
  cdyn_error *err = NULL;
  cdyn_string_list *ids = NULL;
  CHECK_STATUS(cdyn_store_ids(store, &ids, &err), CDYN_OK, err);
  size_t count = cdyn_string_list_count(ids);
  CHECK(count == (size_t)live);
  if (count == (size_t)live && live <= (int)(sizeof listed / sizeof listed[0])) {
    const char **got = calloc(count ? count : 1, sizeof *got);
    CHECK(got != NULL);
    for (size_t i = 0; got != NULL && i < count; i++) got[i] = cdyn_string_list_at(ids, i, NULL);
    if (got != NULL) {
      qsort(got, count, sizeof *got, compare_strings);
      qsort(listed, count, sizeof *listed, compare_strings);
      for (size_t i = 0; i < count; i++) {
        CHECK(got[i] != NULL && strcmp(got[i], listed[i]) == 0);
        if (got[i] == NULL || strcmp(got[i], listed[i]) != 0)
          fprintf(stderr, "ids[%zu]: %s, expected %s\n", i, got[i] ? got[i] : "(null)", listed[i]);
      }
    }
    free(got);
  } else {
    fprintf(stderr, "cdyn_store_ids listed %zu sessions, expected %d\n", count, live);
  }
  cdyn_string_list_free(ids);
  uint64_t length = 0;
  CHECK_STATUS(cdyn_store_length(store, &length, &err), CDYN_OK, err);
  CHECK(length == (uint64_t)live);

  printf("test_vectors: %s: %d vectors read, %d live, %d errors\n", dir, vectors, live, errors);
  free(text);
  cdyn_store_free(store);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s TABLE DIR\n", argv[0]);
    return 2;
  }
  table = argv[1];
  dir = argv[2];
  /* Keys come from DIR/config.tsv only: a configuration without keys must not take them from
   * the environment (the C API reads it when no key was added). */
  unsetenv("CONNECT_DYNAMODB_ENCRYPTION_KEYS");
  unsetenv("CONNECT_DYNAMODB_ID_HASH_KEY");
  const test_case tests[] = {{"reads_every_vector", test_reads_every_vector}};
  return run_tests("test_vectors", tests, 1, 1, argv);
}
