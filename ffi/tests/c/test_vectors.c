/* The shared vectors of tests/vectors/stored-items.json, read through the C API, so that the C
 * face is held to the behaviour of the Rust core and the other faces. The items are written raw
 * by ffi/tests/write-vectors.js, which also writes the expectations read here.
 *
 *   test_vectors TABLE EXPECTATIONS_DIR
 *
 * EXPECTATIONS_DIR/expected.tsv has one line per vector, "<name>\t1" (a live session) or
 * "<name>\t0" (none); EXPECTATIONS_DIR/<name>.sess holds the exact session text of a found one.
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

static void test_reads_every_vector(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s/expected.tsv", dir);
  size_t tsv_len = 0;
  char *tsv = read_all(path, &tsv_len);
  CHECK(tsv != NULL);
  if (tsv == NULL) return;
  cdyn_config *config = local_config(table);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  int vectors = 0, live = 0;
  char *save = NULL;
  /* The expectations are text: terminate them for strtok_r. */
  char *text = realloc(tsv, tsv_len + 1);
  CHECK(text != NULL);
  if (text == NULL) {
    free(tsv);
    cdyn_store_free(store);
    return;
  }
  text[tsv_len] = '\0';
  for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    char *tab = strchr(line, '\t');
    CHECK(tab != NULL && (strcmp(tab + 1, "1") == 0 || strcmp(tab + 1, "0") == 0));
    if (tab == NULL) continue;
    *tab = '\0';
    const char *name = line;
    bool expected_found = strcmp(tab + 1, "1") == 0;
    vectors++;
    cdyn_error *err = NULL;
    bool found = !expected_found;
    char *session = NULL;
    size_t len = 12345;
    int64_t expires = -1;
    int64_t before = now_secs();
    CHECK_STATUS(cdyn_store_get(store, name, &found, &session, &len, &expires, &err), CDYN_OK, err);
    CHECK(found == expected_found);
    if (found != expected_found) fprintf(stderr, "%s: found %d, expected %d\n", name, found, expected_found);
    if (expected_found) {
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
  /* The vectors hold live and dead items both. */
  CHECK(live >= 4 && live < vectors);
  printf("test_vectors: %d vectors read, %d live\n", vectors, live);
  free(text);
  cdyn_store_free(store);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s TABLE EXPECTATIONS_DIR\n", argv[0]);
    return 2;
  }
  table = argv[1];
  dir = argv[2];
  const test_case tests[] = {{"reads_every_vector", test_reads_every_vector}};
  return run_tests("test_vectors", tests, 1, 1, argv);
}
