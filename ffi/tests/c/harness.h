/* A small test harness shared by the C test programs: checks, named tests, DynamoDB Local
 * stores on fresh tables, waiting with deadlines, and fake DynamoDB servers for the faults a
 * real server cannot produce on demand. */
#ifndef CDYN_TEST_HARNESS_H
#define CDYN_TEST_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "connect_dynamodb.h"

static atomic_int harness_checks;
static atomic_int harness_failures;

#define CHECK(cond)                                                                   \
  do {                                                                                \
    atomic_fetch_add(&harness_checks, 1);                                             \
    if (!(cond)) {                                                                    \
      atomic_fetch_add(&harness_failures, 1);                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
    }                                                                                 \
  } while (0)

/* Checks that the status of `call` is `expected`, and that `err` (the error `call` set, or
 * NULL) matches it; on a mismatch prints the error's message. Frees the error. */
#define CHECK_STATUS(call, expected, err)                                 \
  do {                                                                    \
    cdyn_status status_ = (call);                                         \
    check_status_at(__FILE__, __LINE__, status_, (expected), (err));      \
  } while (0)

static inline void check_status_at(const char *file, int line, cdyn_status status,
                            cdyn_status expected, cdyn_error *err) {
  atomic_fetch_add(&harness_checks, 1);
  if (status != expected) {
    atomic_fetch_add(&harness_failures, 1);
    fprintf(stderr, "%s:%d: status %s, expected %s (%s)\n", file, line,
            cdyn_status_str(status), cdyn_status_str(expected), cdyn_error_message(err));
  } else if ((status == CDYN_OK) != (err == NULL)) {
    atomic_fetch_add(&harness_failures, 1);
    fprintf(stderr, "%s:%d: status %s with error %p\n", file, line, cdyn_status_str(status),
            (void *)err);
  } else if (err != NULL && cdyn_error_code(err) != status) {
    atomic_fetch_add(&harness_failures, 1);
    fprintf(stderr, "%s:%d: error code %s differs from status %s\n", file, line,
            cdyn_status_str(cdyn_error_code(err)), cdyn_status_str(status));
  }
  cdyn_error_free(err);
}

typedef struct {
  const char *name;
  void (*run)(void);
} test_case;

/* Runs the tests named on the command line, or all of them; returns the exit status. */
static inline int run_tests(const char *program, const test_case *tests, size_t count, int argc,
                     char **argv) {
  int ran = 0;
  for (size_t i = 0; i < count; i++) {
    bool selected = argc < 2;
    for (int a = 1; a < argc; a++) selected = selected || strcmp(argv[a], tests[i].name) == 0;
    if (!selected) continue;
    int before = atomic_load(&harness_failures);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tests[i].run();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    bool ok = atomic_load(&harness_failures) == before;
    printf("%s - %s: %s (%.0f ms)\n", ok ? "ok" : "not ok", program, tests[i].name, ms);
    fflush(stdout);
    ran++;
  }
  printf("%s: %d tests, %d checks, %d failed\n", program, ran, atomic_load(&harness_checks),
         atomic_load(&harness_failures));
  if (ran == 0) {
    fprintf(stderr, "%s: no test matched\n", program);
    return 2;
  }
  return atomic_load(&harness_failures) == 0 ? 0 : 1;
}

static inline const char *local_endpoint(void) {
  const char *endpoint = getenv("DYNAMODB_ENDPOINT");
  if (endpoint == NULL || *endpoint == '\0') {
    fprintf(stderr, "DYNAMODB_ENDPOINT is not set: run the C tests with `make test-c`\n");
    exit(2);
  }
  return endpoint;
}

/* A table name no other test or run uses. */
static inline void unique_table(char *buf, size_t size, const char *label) {
  static atomic_int counter;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  snprintf(buf, size, "c-%s-%ld-%d-%ld", label, (long)getpid(), atomic_fetch_add(&counter, 1),
           (long)(now.tv_nsec / 1000));
}

/* A configuration for DynamoDB Local at `endpoint` (NULL: DYNAMODB_ENDPOINT). */
static inline cdyn_config *local_config_at(const char *table, const char *endpoint) {
  cdyn_config *config = cdyn_config_new();
  CHECK(config != NULL);
  CHECK_STATUS(cdyn_config_set_table(config, table, NULL), CDYN_OK, NULL);
  CHECK_STATUS(cdyn_config_set_endpoint(config, endpoint ? endpoint : local_endpoint(), NULL),
               CDYN_OK, NULL);
  CHECK_STATUS(cdyn_config_set_region(config, "us-east-1", NULL), CDYN_OK, NULL);
  CHECK_STATUS(cdyn_config_set_credentials(config, "localtest", "localtest", NULL, NULL),
               CDYN_OK, NULL);
  return config;
}

static inline cdyn_config *local_config(const char *table) { return local_config_at(table, NULL); }

static inline cdyn_store *store_from(const cdyn_config *config) {
  cdyn_store *store = NULL;
  cdyn_error *err = NULL;
  CHECK_STATUS(cdyn_store_new(config, &store, &err), CDYN_OK, err);
  if (store == NULL) {
    fprintf(stderr, "cannot continue without a store\n");
    exit(1);
  }
  return store;
}

/* A store on a fresh table of DynamoDB Local, created with TTL. */
static inline cdyn_store *fresh_store(const char *label, char *table, size_t table_size) {
  unique_table(table, table_size, label);
  cdyn_config *config = local_config(table);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  cdyn_error *err = NULL;
  bool created = false;
  CHECK_STATUS(cdyn_store_create_table(store, &created, NULL, &err), CDYN_OK, err);
  CHECK(created);
  return store;
}

/* A store on a fresh table of DynamoDB Local with TTL off, for the tests that count what the
 * reaper and cdyn_store_clear delete: DynamoDB Local's own TTL deletions would race them. The
 * table is made by ffi/tests/create-table-without-ttl.js (the C API always enables TTL). */
static inline cdyn_store *fresh_store_without_ttl_clock(const char *label, char *table,
                                                        size_t table_size, const cdyn_clock *clock);
static inline cdyn_store *fresh_store_without_ttl(const char *label, char *table,
                                                  size_t table_size) {
  return fresh_store_without_ttl_clock(label, table, table_size, NULL);
}

/* As fresh_store_without_ttl, with a store reading "now" from `clock` (NULL: the system's). */
static inline cdyn_store *fresh_store_without_ttl_clock(const char *label, char *table,
                                                        size_t table_size, const cdyn_clock *clock) {
  unique_table(table, table_size, label);
  char command[512];
  snprintf(command, sizeof command, "node --no-warnings ffi/tests/create-table-without-ttl.js '%s'", table);
  if (system(command) != 0) {
    fprintf(stderr, "could not create the table %s without TTL\n", table);
    exit(1);
  }
  cdyn_config *config = local_config(table);
  CHECK_STATUS(cdyn_config_set_clock(config, clock, NULL), CDYN_OK, NULL);
  cdyn_store *store = store_from(config);
  cdyn_config_free(config);
  return store;
}

static inline int64_t now_secs(void) { return (int64_t)time(NULL); }

/* The time of a manual clock, in whole epoch seconds. */
static inline int64_t clock_secs(const cdyn_clock *clock) { return cdyn_clock_now_ms(clock) / 1000; }

static inline double monotonic_secs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits on a condition variable for `*count` to reach `target`, for at most `seconds`. */
static inline bool wait_for_count(pthread_mutex_t *mutex, pthread_cond_t *cond, int *count, int target,
                           int seconds) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += seconds;
  pthread_mutex_lock(mutex);
  int rc = 0;
  while (*count < target && rc != ETIMEDOUT) rc = pthread_cond_timedwait(cond, mutex, &deadline);
  bool reached = *count >= target;
  pthread_mutex_unlock(mutex);
  return reached;
}

/* A loopback port nothing listens on. */
static inline int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
  socklen_t len = sizeof addr;
  CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

/* A fake DynamoDB on a loopback port: either it accepts connections and never answers, or it
 * answers every request with one canned HTTP response. */
typedef struct {
  int listener;
  int port;
  int stop_pipe[2];
  const char *response; /* NULL: never answer */
  pthread_t thread;
  atomic_int requests;
} fake_server;

static inline bool read_request(int fd) {
  char buf[65536];
  size_t used = 0;
  for (;;) {
    ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
    if (n <= 0) return false;
    used += (size_t)n;
    buf[used] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end == NULL) {
      if (used >= sizeof buf - 1) return false;
      continue;
    }
    size_t body = 0;
    for (char *line = buf; line < end; line = strstr(line, "\r\n") + 2) {
      if (strncasecmp(line, "content-length:", 15) == 0) body = strtoul(line + 15, NULL, 10);
    }
    size_t have = used - (size_t)(end + 4 - buf);
    while (have < body) {
      n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      have += (size_t)n;
    }
    return true;
  }
}

static inline void *fake_server_main(void *arg) {
  fake_server *server = arg;
  int held[64];
  int nheld = 0;
  for (;;) {
    struct pollfd fds[2] = {{.fd = server->listener, .events = POLLIN},
                            {.fd = server->stop_pipe[0], .events = POLLIN}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept(server->listener, NULL, NULL);
    if (fd < 0) continue;
    if (server->response == NULL) {
      if (nheld < 64) held[nheld++] = fd; else close(fd);
      continue;
    }
    while (read_request(fd)) {
      atomic_fetch_add(&server->requests, 1);
      const char *r = server->response;
      size_t left = strlen(r);
      while (left > 0) {
        ssize_t n = send(fd, r, left, MSG_NOSIGNAL);
        if (n <= 0) break;
        r += n;
        left -= (size_t)n;
      }
    }
    close(fd);
  }
  for (int i = 0; i < nheld; i++) close(held[i]);
  return NULL;
}

static inline void fake_server_start(fake_server *server, const char *response) {
  memset(server, 0, sizeof *server);
  server->response = response;
  server->listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(server->listener, (struct sockaddr *)&addr, sizeof addr) == 0);
  CHECK(listen(server->listener, 16) == 0);
  socklen_t len = sizeof addr;
  CHECK(getsockname(server->listener, (struct sockaddr *)&addr, &len) == 0);
  server->port = ntohs(addr.sin_port);
  CHECK(pipe(server->stop_pipe) == 0);
  CHECK(pthread_create(&server->thread, NULL, fake_server_main, server) == 0);
}

static inline void fake_server_stop(fake_server *server) {
  CHECK(write(server->stop_pipe[1], "x", 1) == 1);
  pthread_join(server->thread, NULL);
  close(server->listener);
  close(server->stop_pipe[0]);
  close(server->stop_pipe[1]);
}

#endif
