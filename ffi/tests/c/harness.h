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

/* A counting proxy in front of DynamoDB Local: forwards every request unchanged and counts
 * them by DynamoDB operation (the X-Amz-Target header), so tests can assert what a call costs.
 * A request is counted before it is forwarded, so once a call has returned its requests are
 * all counted. */
enum { PROXY_MAX_OPS = 32, PROXY_MAX_CONNS = 64 };

typedef struct counting_proxy counting_proxy;

typedef struct {
  counting_proxy *proxy;
  int client;
  atomic_int upstream;
  pthread_t thread;
} proxy_conn;

struct counting_proxy {
  int listener;
  int port;
  struct sockaddr_in upstream;
  int stop_pipe[2];
  pthread_t thread;
  pthread_mutex_t mutex;
  char ops[PROXY_MAX_OPS][64];
  int counts[PROXY_MAX_OPS];
  int nops;
  proxy_conn conns[PROXY_MAX_CONNS];
  int nconns;
  char url[64];
};

/* The length of the complete HTTP message at the start of `d` (`n` bytes), 0 while it is
 * incomplete, -1 when it cannot be parsed. Bodies: Content-Length or chunked. */
static inline long http_message_length(const char *d, size_t n) {
  const char *end = memmem(d, n, "\r\n\r\n", 4);
  if (end == NULL) return 0;
  size_t head = (size_t)(end - d) + 4;
  long content_length = -1;
  bool chunked = false;
  for (const char *line = d; line < end;) {
    const char *eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
    if (eol == NULL) break;
    if (strncasecmp(line, "content-length:", 15) == 0) content_length = strtol(line + 15, NULL, 10);
    if (strncasecmp(line, "transfer-encoding:", 18) == 0 && memmem(line, (size_t)(eol - line), "chunked", 7))
      chunked = true;
    line = eol + 2;
  }
  if (content_length >= 0) return head + (size_t)content_length <= n ? (long)head + content_length : 0;
  if (!chunked) return (long)head;
  size_t p = head;
  for (;;) {
    const char *eol = memmem(d + p, n - p, "\r\n", 2);
    if (eol == NULL) return 0;
    char *after = NULL;
    unsigned long size = strtoul(d + p, &after, 16);
    if (after == d + p) return -1;
    p = (size_t)(eol - d) + 2;
    if (size == 0) {
      /* No trailers: the empty line ends the message. */
      if (n - p < 2) return 0;
      return memcmp(d + p, "\r\n", 2) == 0 ? (long)(p + 2) : -1;
    }
    if (n - p < size + 2) return 0;
    p += size + 2;
  }
}

typedef struct {
  char *data;
  size_t len, cap;
} proxy_buf;

/* Reads one HTTP message from `fd` into `buf` (which may hold bytes read before); returns its
 * length, or 0 on end of stream or error. */
static inline size_t proxy_read_message(int fd, proxy_buf *buf) {
  for (;;) {
    long length = buf->len > 0 ? http_message_length(buf->data, buf->len) : 0;
    if (length < 0) return 0;
    if (length > 0) return (size_t)length;
    if (buf->cap - buf->len < 65536) {
      buf->cap = buf->cap * 2 + 65536;
      buf->data = realloc(buf->data, buf->cap);
      if (buf->data == NULL) return 0;
    }
    ssize_t got = recv(fd, buf->data + buf->len, buf->cap - buf->len, 0);
    if (got <= 0) return 0;
    buf->len += (size_t)got;
  }
}

static inline bool proxy_send_all(int fd, const char *d, size_t n) {
  while (n > 0) {
    ssize_t sent = send(fd, d, n, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    d += sent;
    n -= (size_t)sent;
  }
  return true;
}

static inline void proxy_count_request(counting_proxy *proxy, const char *request, size_t head) {
  char op[64] = "(none)";
  for (const char *line = request; line < request + head;) {
    const char *eol = memmem(line, (size_t)(request + head - line), "\r\n", 2);
    if (eol == NULL) break;
    if (strncasecmp(line, "x-amz-target:", 13) == 0) {
      const char *dot = memrchr(line, '.', (size_t)(eol - line));
      const char *name = dot ? dot + 1 : line + 13;
      while (*name == ' ') name++;
      size_t len = (size_t)(eol - name) < sizeof op - 1 ? (size_t)(eol - name) : sizeof op - 1;
      memcpy(op, name, len);
      op[len] = '\0';
    }
    line = eol + 2;
  }
  pthread_mutex_lock(&proxy->mutex);
  int i = 0;
  while (i < proxy->nops && strcmp(proxy->ops[i], op) != 0) i++;
  if (i == proxy->nops && i < PROXY_MAX_OPS) {
    snprintf(proxy->ops[i], sizeof proxy->ops[i], "%s", op);
    proxy->counts[i] = 0;
    proxy->nops++;
  }
  if (i < PROXY_MAX_OPS) proxy->counts[i]++;
  pthread_mutex_unlock(&proxy->mutex);
}

/* One client connection: each request is counted, sent upstream on a connection of its own,
 * and the answer sent back. The stopper closes the sockets after joining this thread. */
static inline void *proxy_conn_main(void *arg) {
  proxy_conn *conn = arg;
  proxy_buf in = {0}, out = {0};
  for (;;) {
    size_t length = proxy_read_message(conn->client, &in);
    if (length == 0) break;
    const char *head_end = memmem(in.data, length, "\r\n\r\n", 4);
    proxy_count_request(conn->proxy, in.data, (size_t)(head_end - in.data) + 4);
    if (atomic_load(&conn->upstream) < 0) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(fd, (struct sockaddr *)&conn->proxy->upstream, sizeof conn->proxy->upstream) != 0) {
        close(fd);
        break;
      }
      atomic_store(&conn->upstream, fd);
    }
    int upstream = atomic_load(&conn->upstream);
    if (!proxy_send_all(upstream, in.data, length)) break;
    memmove(in.data, in.data + length, in.len - length);
    in.len -= length;
    size_t answer = proxy_read_message(upstream, &out);
    if (answer == 0 || !proxy_send_all(conn->client, out.data, answer)) break;
    memmove(out.data, out.data + answer, out.len - answer);
    out.len -= answer;
  }
  free(in.data);
  free(out.data);
  return NULL;
}

static inline void *proxy_accept_main(void *arg) {
  counting_proxy *proxy = arg;
  for (;;) {
    struct pollfd fds[2] = {{.fd = proxy->listener, .events = POLLIN},
                            {.fd = proxy->stop_pipe[0], .events = POLLIN}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept(proxy->listener, NULL, NULL);
    if (fd < 0) continue;
    if (proxy->nconns == PROXY_MAX_CONNS) {
      close(fd);
      continue;
    }
    proxy_conn *conn = &proxy->conns[proxy->nconns];
    conn->proxy = proxy;
    conn->client = fd;
    atomic_store(&conn->upstream, -1);
    if (pthread_create(&conn->thread, NULL, proxy_conn_main, conn) != 0) {
      close(fd);
      continue;
    }
    proxy->nconns++;
  }
  return NULL;
}

/* Starts a proxy in front of DYNAMODB_ENDPOINT (http://HOST:PORT, HOST an IPv4 address or
 * localhost); its URL is proxy->url. */
static inline void counting_proxy_start(counting_proxy *proxy) {
  memset(proxy, 0, sizeof *proxy);
  pthread_mutex_init(&proxy->mutex, NULL);
  const char *endpoint = local_endpoint();
  char host[64] = "";
  int port = 0;
  if (sscanf(endpoint, "http://%63[^:/]:%d", host, &port) != 2) {
    fprintf(stderr, "counting proxy: cannot read the endpoint %s\n", endpoint);
    exit(2);
  }
  proxy->upstream.sin_family = AF_INET;
  proxy->upstream.sin_port = htons((uint16_t)port);
  if (strcmp(host, "localhost") == 0) snprintf(host, sizeof host, "127.0.0.1");
  CHECK(inet_pton(AF_INET, host, &proxy->upstream.sin_addr) == 1);
  proxy->listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(proxy->listener, (struct sockaddr *)&addr, sizeof addr) == 0);
  CHECK(listen(proxy->listener, 64) == 0);
  socklen_t len = sizeof addr;
  CHECK(getsockname(proxy->listener, (struct sockaddr *)&addr, &len) == 0);
  proxy->port = ntohs(addr.sin_port);
  snprintf(proxy->url, sizeof proxy->url, "http://127.0.0.1:%d", proxy->port);
  CHECK(pipe(proxy->stop_pipe) == 0);
  CHECK(pthread_create(&proxy->thread, NULL, proxy_accept_main, proxy) == 0);
}

/* Stops the proxy: call it after freeing the stores that use it. */
static inline void counting_proxy_stop(counting_proxy *proxy) {
  CHECK(write(proxy->stop_pipe[1], "x", 1) == 1);
  pthread_join(proxy->thread, NULL);
  for (int i = 0; i < proxy->nconns; i++) {
    proxy_conn *conn = &proxy->conns[i];
    shutdown(conn->client, SHUT_RDWR);
    int upstream = atomic_load(&conn->upstream);
    if (upstream >= 0) shutdown(upstream, SHUT_RDWR);
    pthread_join(conn->thread, NULL);
    close(conn->client);
    if (atomic_load(&conn->upstream) >= 0) close(atomic_load(&conn->upstream));
  }
  close(proxy->listener);
  close(proxy->stop_pipe[0]);
  close(proxy->stop_pipe[1]);
  pthread_mutex_destroy(&proxy->mutex);
}

/* The requests of operation `op` (e.g. "PutItem") since the last reset; "" counts them all. */
static inline int proxy_count(counting_proxy *proxy, const char *op) {
  pthread_mutex_lock(&proxy->mutex);
  int n = 0;
  for (int i = 0; i < proxy->nops; i++)
    if (*op == '\0' || strcmp(proxy->ops[i], op) == 0) n += proxy->counts[i];
  pthread_mutex_unlock(&proxy->mutex);
  return n;
}

static inline void proxy_reset(counting_proxy *proxy) {
  pthread_mutex_lock(&proxy->mutex);
  proxy->nops = 0;
  pthread_mutex_unlock(&proxy->mutex);
}

/* Prints what the proxy counted since the last reset, e.g. "PutItem=1 GetItem=1". */
static inline void proxy_describe(counting_proxy *proxy, char *buf, size_t size) {
  pthread_mutex_lock(&proxy->mutex);
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < proxy->nops && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%s=%d", i ? " " : "", proxy->ops[i],
                             proxy->counts[i]);
  pthread_mutex_unlock(&proxy->mutex);
}

/* One raw item of a table, as ffi/tests/raw-items.js prints it: its key, the DynamoDB type of
 * its `sess` ("S", "B", "-" for none) and the bytes of `sess` (the UTF-8 of an S). */
typedef struct {
  char id[1024];
  char type[8];
  unsigned char *sess;
  size_t sess_len;
} raw_item;

/* Reads every raw item of `table` (through ffi/tests/raw-items.js, run from the repository's
 * root as the suite is) into `items`; returns how many were read (at most `max`), or -1 when
 * the items cannot be read. Free them with raw_items_free. */
static inline int raw_items_read(const char *table, raw_item *items, int max) {
  char command[1024];
  snprintf(command, sizeof command, "node --no-warnings ffi/tests/raw-items.js '%s'", table);
  FILE *out = popen(command, "r");
  if (out == NULL) return -1;
  char *line = NULL;
  size_t cap = 0;
  int n = 0;
  bool ok = true;
  while (getline(&line, &cap, out) > 0) {
    char *save = NULL;
    char *id = strtok_r(line, "\t\n", &save);
    char *type = strtok_r(NULL, "\t\n", &save);
    char *hex = strtok_r(NULL, "\t\n", &save);
    if (id == NULL || type == NULL || hex == NULL || n >= max) {
      ok = false;
      continue;
    }
    raw_item *item = &items[n];
    snprintf(item->id, sizeof item->id, "%s", id);
    snprintf(item->type, sizeof item->type, "%s", type);
    size_t hex_len = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
    item->sess_len = hex_len / 2;
    item->sess = malloc(item->sess_len + 1);
    if (item->sess == NULL) {
      ok = false;
      continue;
    }
    for (size_t i = 0; i < item->sess_len; i++) {
      unsigned int byte = 0;
      if (sscanf(hex + 2 * i, "%2x", &byte) != 1) ok = false;
      item->sess[i] = (unsigned char)byte;
    }
    n++;
  }
  free(line);
  if (pclose(out) != 0) ok = false;
  if (!ok) {
    for (int i = 0; i < n; i++) free(items[i].sess);
    return -1;
  }
  return n;
}

static inline void raw_items_free(raw_item *items, int n) {
  for (int i = 0; i < n; i++) free(items[i].sess);
}

/* Whether `needle` (as bytes, without its NUL) occurs in the `len` bytes at `bytes`. */
static inline bool bytes_contain(const unsigned char *bytes, size_t len, const char *needle) {
  size_t n = strlen(needle);
  return n == 0 || (len >= n && memmem(bytes, len, needle, n) != NULL);
}

#endif
