/* fork(): a child keeps using its parent's store (blocking and non-blocking calls) and may
 * make new stores; the parent's store keeps working afterwards. Every child is bounded by
 * alarm(), so a hang fails the test instead of blocking it. Built without AddressSanitizer,
 * whose allocator in GCC 12 is not fork-safe (see ffi/tests/run.sh). */
#include <sys/wait.h>

#include "harness.h"

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int callbacks;
static bool callback_ok;

static void on_get(void *user_data, cdyn_status status, bool found, char *session,
                   size_t session_len, int64_t expires, cdyn_error *error) {
  (void)user_data;
  (void)session_len;
  (void)expires;
  pthread_mutex_lock(&mutex);
  callback_ok = status == CDYN_OK && found && strcmp(session, "{\"from\":\"child\"}") == 0;
  callbacks++;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&mutex);
  cdyn_string_free(session);
  cdyn_error_free(error);
}

/* What a child does with its parent's store, writing the session `sid`; returns the child's
 * exit status. */
static int child_work(cdyn_store *store, const char *table, const char *sid) {
  alarm(30);
  bool found = false;
  char *json = NULL;
  if (cdyn_store_get(store, "parent", &found, &json, NULL, NULL, NULL) != CDYN_OK) return 10;
  if (!found || strcmp(json, "{\"from\":\"parent\"}") != 0) return 11;
  cdyn_string_free(json);
  if (cdyn_store_set(store, sid, "{\"from\":\"child\"}", now_secs() + 600,
                     CDYN_CONDITION_ALWAYS, NULL) != CDYN_OK)
    return 12;
  if (cdyn_store_get_async(store, sid, on_get, NULL, NULL) != CDYN_OK) return 13;
  if (!wait_for_count(&mutex, &cond, &callbacks, 1, 20) || !callback_ok) return 14;
  /* A new store in the child. */
  cdyn_config *config = local_config(table);
  cdyn_store *own = NULL;
  if (cdyn_store_new(config, &own, NULL) != CDYN_OK) return 15;
  cdyn_config_free(config);
  uint64_t length = 0;
  if (cdyn_store_length(own, &length, NULL) != CDYN_OK || length != 2) return 16;
  cdyn_store_free(own);
  return 0;
}

/* Runs `child_work` (or a grandchild of it) in a child process; returns its exit status. */
static int in_child(cdyn_store *store, const char *table, const char *sid, bool grandchild) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int status = grandchild ? in_child(store, table, sid, false) : child_work(store, table, sid);
    /* _exit: the child must not run the parent's exit handlers a second time. */
    _exit(status);
  }
  if (pid < 0) return 100;
  int wstatus = 0;
  if (waitpid(pid, &wstatus, 0) != pid) return 101;
  if (WIFSIGNALED(wstatus)) {
    fprintf(stderr, "child killed by signal %d%s\n", WTERMSIG(wstatus),
            WTERMSIG(wstatus) == SIGALRM ? " (it hung)" : "");
    return 102;
  }
  return WEXITSTATUS(wstatus);
}

/* Ends the child's session. Its id stays ended (a tombstone) for the tombstone lifetime, so
 * each child writes an id of its own. */
static void reset_child_marker(cdyn_store *store, const char *sid) {
  CHECK_STATUS(cdyn_store_destroy(store, sid, NULL), CDYN_OK, NULL);
}

static void test_child_uses_parent_store(void) {
  char table[128];
  cdyn_store *store = fresh_store("fork", table, sizeof table);
  cdyn_error *err = NULL;
  /* The parent's runtime and connections are up and busy before the fork. */
  CHECK_STATUS(cdyn_store_set(store, "parent", "{\"from\":\"parent\"}", now_secs() + 600,
                              CDYN_CONDITION_ALWAYS, &err),
               CDYN_OK, err);
  int status = in_child(store, table, "child", false);
  if (status != 0) fprintf(stderr, "child exit status %d\n", status);
  CHECK(status == 0);
  /* The parent still works, and sees the child's write. */
  bool found = false;
  char *json = NULL;
  CHECK_STATUS(cdyn_store_get(store, "child", &found, &json, NULL, NULL, &err), CDYN_OK, err);
  CHECK(found && json != NULL && strcmp(json, "{\"from\":\"child\"}") == 0);
  cdyn_string_free(json);
  reset_child_marker(store, "child");

  /* A grandchild (a fork of a forked child) works too. */
  status = in_child(store, table, "grandchild", true);
  if (status != 0) fprintf(stderr, "grandchild exit status %d\n", status);
  CHECK(status == 0);
  reset_child_marker(store, "grandchild");
  cdyn_store_free(store);
}

/* A child forked while the parent's non-blocking calls are in flight. */
static int done_failures;

static void on_done(void *user_data, cdyn_status status, cdyn_error *error) {
  cdyn_error_free(error);
  pthread_mutex_lock(&mutex);
  if (status != CDYN_OK) done_failures++;
  (*(int *)user_data)++;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&mutex);
}

static void test_fork_during_calls(void) {
  char table[128];
  cdyn_store *store = fresh_store("fork-busy", table, sizeof table);
  CHECK_STATUS(cdyn_store_set(store, "parent", "{\"from\":\"parent\"}", now_secs() + 600,
                              CDYN_CONDITION_ALWAYS, NULL),
               CDYN_OK, NULL);
  int done = 0;
  for (int i = 0; i < 20; i++)
    CHECK_STATUS(cdyn_store_destroy_async(store, "other", on_done, &done, NULL), CDYN_OK, NULL);
  callbacks = 0;
  int status = in_child(store, table, "child", false);
  CHECK(status == 0);
  CHECK(wait_for_count(&mutex, &cond, &done, 20, 30));
  pthread_mutex_lock(&mutex);
  CHECK(done == 20 && done_failures == 0);
  pthread_mutex_unlock(&mutex);
  cdyn_store_free(store);
}

int main(int argc, char **argv) {
  const test_case tests[] = {
      {"child_uses_parent_store", test_child_uses_parent_store},
      {"fork_during_calls", test_fork_during_calls},
  };
  return run_tests("test_fork", tests, sizeof tests / sizeof tests[0], argc, argv);
}
