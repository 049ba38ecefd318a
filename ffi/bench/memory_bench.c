/* The C face's memory and CPU (`make bench-c`, part of `make bench`): the resident set size of
 * a process using libconnect_dynamodb (release build) when idle, after a warm-up and after
 * 100,000 mixed blocking calls, and the CPU it spends per call.
 *
 *   DYNAMODB_ENDPOINT=http://127.0.0.1:8000 target/c-bench/memory_bench
 *
 * One store on a fresh table of DynamoDB Local, one calling thread (the library runs its own
 * two worker threads). The calls: about 60% cdyn_store_get, 20% cdyn_store_save and 20%
 * cdyn_store_touch, over 1,000 session ids picked at random (a fixed seed), each session about
 * 1 KB of JSON that changes with every save. The touch throttle is 0, so every touch writes
 * (an UpdateItem), as a save does (a PutItem).
 *
 * RSS is the process's resident set now (/proc/self/statm), in MiB: idle (the store created,
 * its table created and one get made), after the warm-up (each id saved once, then the mix, 10,000
 * calls in all) and after the 100,000 calls that follow; growth is the last minus the second.
 * CPU is the process's user plus system time (getrusage, every thread) over each tenth of the
 * 100,000 calls, per call; the median tenth is reported.
 *
 * Knobs: BENCH_CALLS (default 100000), BENCH_WARMUP (default 10000), BENCH_IDS (default 1000).
 * With BENCH_OUT set (a directory), the figures are also written to $BENCH_OUT/c-memory.json.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "connect_dynamodb.h"

#define STORE_LABEL "libconnect_dynamodb (C, release)"
#define CHUNKS 10
/* The RSS growth after warm-up that still counts as none: allocator noise. */
#define MAX_GROWTH_MIB 1.0

static void fail(const char *what, cdyn_status status, cdyn_error *err) {
  fprintf(stderr, "memory_bench: %s failed: %s (%s)\n", what, cdyn_status_str(status),
          err ? cdyn_error_message(err) : "no details");
  cdyn_error_free(err);
  exit(1);
}

#define MUST(what, call)                        \
  do {                                          \
    cdyn_error *err_ = NULL;                    \
    cdyn_status status_ = (call);               \
    if (status_ != CDYN_OK) fail(what, status_, err_); \
  } while (0)

static long knob(const char *name, long fallback) {
  const char *value = getenv(name);
  if (value == NULL || *value == '\0') return fallback;
  char *end = NULL;
  long n = strtol(value, &end, 10);
  return (end != NULL && *end == '\0' && n > 0) ? n : fallback;
}

/* The process's resident set size now, in MiB. */
static double rss_mib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2) {
    fprintf(stderr, "memory_bench: cannot read /proc/self/statm\n");
    exit(1);
  }
  fclose(f);
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* The process's peak resident set size so far, in MiB. */
static double max_rss_mib(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)usage.ru_maxrss / 1024.0;
}

/* CPU time of the process so far (user + system, every thread), in microseconds. */
static double cpu_us(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

static double monotonic_secs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median (the upper one of an even count). */
static double median(const double *values, size_t count) {
  double sorted[CHUNKS];
  memcpy(sorted, values, count * sizeof *values);
  qsort(sorted, count, sizeof *sorted, compare_doubles);
  return sorted[count / 2];
}

/* xorshift64*: the same sequence of calls in every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1du;
}

/* A session of about 1 KB of JSON: a cookie, a user and a cart, with a counter that changes
 * on every save. */
static void make_session(char *buf, size_t size, long id, long counter) {
  int n = snprintf(buf, size,
                   "{\"cookie\":{\"originalMaxAge\":86400000,\"httpOnly\":true,\"path\":\"/\"},"
                   "\"userId\":\"u-%ld\",\"views\":%ld,\"cart\":[",
                   id, counter);
  for (int item = 1; (size_t)n < size - 128 && n < 1000; item++) {
    n += snprintf(buf + n, size - (size_t)n,
                  "%s{\"sku\":\"SKU-%05d\",\"name\":\"Product %d\",\"price\":%d.%02d,\"qty\":%d}",
                  item > 1 ? "," : "", (item * 7919) % 100000, item, item % 200, item % 100,
                  item % 3 + 1);
  }
  snprintf(buf + n, size - (size_t)n, "]}");
}

static long saves;

static void save(const cdyn_store *store, long id) {
  char sid[32], session[1400];
  snprintf(sid, sizeof sid, "bench-%ld", id);
  make_session(session, sizeof session, id, ++saves);
  MUST("cdyn_store_save", cdyn_store_save(store, sid, session, CDYN_EXPIRES_DEFAULT,
                                          CDYN_CONDITION_ALWAYS, NULL, NULL, NULL, NULL, &err_));
}

/* One call of the mix: 60% get, 20% save, 20% touch, of a random id. */
static void mixed_call(const cdyn_store *store, long ids) {
  uint64_t r = next_random();
  long id = (long)((r >> 8) % (uint64_t)ids);
  unsigned kind = (unsigned)(r % 10);
  char sid[32];
  snprintf(sid, sizeof sid, "bench-%ld", id);
  if (kind < 6) {
    bool found = false;
    char *json = NULL;
    MUST("cdyn_store_get", cdyn_store_get(store, sid, &found, &json, NULL, NULL, &err_));
    cdyn_string_free(json);
  } else if (kind < 8) {
    save(store, id);
  } else {
    cdyn_touch_outcome outcome;
    MUST("cdyn_store_touch",
         cdyn_store_touch(store, sid, CDYN_EXPIRES_DEFAULT, &outcome, NULL, &err_));
  }
}

/* Writes `text` as a JSON string. */
static void json_string(FILE *f, const char *text) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    if (*c == '"' || *c == '\\') {
      fprintf(f, "\\%c", *c);
    } else if (*c < 0x20) {
      fprintf(f, "\\u%04x", *c);
    } else {
      fputc(*c, f);
    }
  }
  fputc('"', f);
}

/* The value after "key<spaces>:" on the first line of `path` that starts with `key`. */
static void first_field(const char *path, const char *key, char *out, size_t size) {
  snprintf(out, size, "unknown");
  FILE *f = fopen(path, "r");
  if (f == NULL) return;
  char line[512];
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, strlen(key)) != 0) continue;
    char *colon = strchr(line, ':');
    if (colon == NULL) continue;
    colon++;
    while (*colon == ' ' || *colon == '\t') colon++;
    colon[strcspn(colon, "\n")] = '\0';
    snprintf(out, size, "%s", colon);
    break;
  }
  fclose(f);
}

/* The DynamoDB Local version scripts/dynamodb-local.sh runs (its jar_version=), run from the
 * root of the checkout as make does; "unknown" elsewhere. */
static void dynamodb_local_version(char *out, size_t size) {
  snprintf(out, size, "unknown");
  FILE *f = fopen("scripts/dynamodb-local.sh", "r");
  if (f == NULL) return;
  char line[256];
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "jar_version=", 12) == 0) {
      size_t len = strcspn(line + 12, "\n");
      if (len >= size) len = size - 1;
      memcpy(out, line + 12, len);
      out[len] = '\0';
      break;
    }
  }
  fclose(f);
}

static void write_figure(FILE *f, bool *first, const char *scenario, const char *metric,
                         const double *runs, size_t count) {
  fprintf(f, "%s\n    {\"scenario\": ", *first ? "" : ",");
  *first = false;
  json_string(f, scenario);
  fprintf(f, ", \"store\": ");
  json_string(f, STORE_LABEL);
  fprintf(f, ", \"metric\": \"%s\", \"median\": %.2f, \"runs\": [", metric, median(runs, count));
  for (size_t i = 0; i < count; i++) fprintf(f, "%s%.2f", i ? ", " : "", runs[i]);
  fprintf(f, "]}");
}

int main(void) {
  const char *endpoint = getenv("DYNAMODB_ENDPOINT");
  if (endpoint == NULL || *endpoint == '\0') {
    fprintf(stderr, "memory_bench: DYNAMODB_ENDPOINT is not set: run it with `make bench-c`\n");
    return 2;
  }
  long calls = knob("BENCH_CALLS", 100000);
  long warmup = knob("BENCH_WARMUP", 10000);
  long ids = knob("BENCH_IDS", 1000);
  if (calls < CHUNKS) calls = CHUNKS;
  if (warmup < ids) warmup = ids;
  double started = monotonic_secs();

  char table[96];
  snprintf(table, sizeof table, "bench-c-memory-%ld", (long)getpid());
  cdyn_config *config = cdyn_config_new();
  MUST("cdyn_config_set_table", cdyn_config_set_table(config, table, &err_));
  MUST("cdyn_config_set_endpoint", cdyn_config_set_endpoint(config, endpoint, &err_));
  MUST("cdyn_config_set_region", cdyn_config_set_region(config, "us-east-1", &err_));
  MUST("cdyn_config_set_credentials",
       cdyn_config_set_credentials(config, "localtest", "localtest", NULL, &err_));
  MUST("cdyn_config_set_touch_after", cdyn_config_set_touch_after(config, 0, &err_));
  cdyn_store *store = NULL;
  MUST("cdyn_store_new", cdyn_store_new(config, &store, &err_));
  cdyn_config_free(config);
  bool created = false;
  MUST("cdyn_store_create_table", cdyn_store_create_table(store, &created, NULL, &err_));
  bool found = false;
  char *json = NULL;
  MUST("cdyn_store_get", cdyn_store_get(store, "bench-0", &found, &json, NULL, NULL, &err_));
  cdyn_string_free(json);
  double idle = rss_mib();

  for (long id = 0; id < ids; id++) save(store, id);
  for (long i = ids; i < warmup; i++) mixed_call(store, ids);
  double after_warmup = rss_mib();

  double cpu_runs[CHUNKS];
  double wall_start = monotonic_secs();
  long per_chunk = calls / CHUNKS;
  for (int chunk = 0; chunk < CHUNKS; chunk++) {
    double start = cpu_us();
    for (long i = 0; i < per_chunk; i++) mixed_call(store, ids);
    cpu_runs[chunk] = (cpu_us() - start) / (double)per_chunk;
  }
  double wall = monotonic_secs() - wall_start;
  calls = per_chunk * CHUNKS;
  double after = rss_mib();
  double peak = max_rss_mib();
  double growth = after - after_warmup;

  cdyn_store_free(store);

  printf("\nC face (%s): RSS and CPU, %ld mixed calls (60%% get, 20%% save, 20%% touch) over %ld "
         "ids, ~1 KB sessions (DynamoDB Local %s)\n",
         cdyn_version(), calls, ids, endpoint);
  printf("  RSS idle (store created, one call)  %8.1f MiB\n", idle);
  printf("  RSS after %6ld-call warm-up        %8.1f MiB\n", warmup, after_warmup);
  printf("  RSS after %6ld more calls          %8.1f MiB\n", calls, after);
  printf("  growth after warm-up                %+8.2f MiB\n", growth);
  printf("  peak RSS (ru_maxrss)                %8.1f MiB\n", peak);
  printf("  CPU per call (median of %d tenths)  %8.1f µs   (%.0f calls/s wall)\n", CHUNKS,
         median(cpu_runs, CHUNKS), (double)calls / wall);

  const char *out = getenv("BENCH_OUT");
  if (out == NULL || *out == '\0') return 0;
  mkdir(out, 0777);
  char path[4096];
  snprintf(path, sizeof path, "%s/c-memory.json", out);
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  char cpu[256], mem[64];
  first_field("/proc/cpuinfo", "model name", cpu, sizeof cpu);
  first_field("/proc/meminfo", "MemTotal", mem, sizeof mem);
  struct utsname uts;
  uname(&uts);
  char os[200];
  snprintf(os, sizeof os, "%s %s", uts.sysname, uts.release);
  char date[32];
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

  fprintf(f, "{\n  \"bench\": \"c-memory\",\n  \"title\": ");
  char title[128];
  snprintf(title, sizeof title, "C: process RSS and CPU per call, %ldk mixed calls, 1 KB sessions",
           calls / 1000);
  json_string(f, title);
  fprintf(f, ",\n  \"machine\": {\"cpu\": ");
  json_string(f, cpu);
  fprintf(f, ", \"cores\": %ld, \"memory_gib\": %.0f, \"os\": ", sysconf(_SC_NPROCESSORS_ONLN),
          strtod(mem, NULL) / (1024.0 * 1024.0));
  json_string(f, os);
  fprintf(f, ", \"runtimes\": {\"gcc\": ");
  json_string(f, __VERSION__);
  fprintf(f, ", \"libconnect_dynamodb\": ");
  json_string(f, cdyn_version());
  char local[64];
  dynamodb_local_version(local, sizeof local);
  fprintf(f, ", \"dynamodb_local\": ");
  json_string(f, local);
  fprintf(f, "}},\n  \"date\": \"%s\",\n  \"method\": ", date);
  char method[1500];
  snprintf(method, sizeof method,
           "A C program (ffi/bench/memory_bench.c, gcc -O2) linked against the release build of "
           "libconnect_dynamodb.so; one store, one calling thread making blocking calls (the "
           "library runs its own two workers). Mixed calls over %ld ids, picked at random with a "
           "fixed seed: 60%% cdyn_store_get, 20%% cdyn_store_save of a ~1 KB session that "
           "changes on every save, 20%% cdyn_store_touch with the touch throttle at 0 (every "
           "touch writes). RSS from /proc/self/statm: idle (store and table created, one get), "
           "after a %ld-call warm-up (each id saved once, then the mix), after %ld more calls; "
           "growth = the last minus the second. CPU: process user + system time (getrusage) per "
           "call over each tenth of the %ld calls, median tenth. DynamoDB Local on the same "
           "machine (its CPU and memory are not counted).",
           ids, warmup, calls, calls);
  json_string(f, method);
  fprintf(f, ",\n  \"baseline\": null,\n  \"stores\": [");
  json_string(f, STORE_LABEL);
  fprintf(f, "],\n  \"figures\": [");
  bool first = true;
  char scenario[64];
  write_figure(f, &first, "idle (store created, one call)", "rss_mib_idle", &idle, 1);
  snprintf(scenario, sizeof scenario, "after %ldk warm-up", warmup / 1000);
  write_figure(f, &first, scenario, "rss_mib_after", &after_warmup, 1);
  snprintf(scenario, sizeof scenario, "after %ldk", calls / 1000);
  write_figure(f, &first, scenario, "rss_mib_after", &after, 1);
  write_figure(f, &first, scenario, "rss_mib_growth", &growth, 1);
  write_figure(f, &first, "mixed calls (60% get, 20% save, 20% touch)", "cpu_us_per_call",
               cpu_runs, CHUNKS);
  /* "No growth after warm-up", with a MiB for the allocator's own rounding. */
  fprintf(f, "\n  ],\n  \"targets\": [{\"scenario\": ");
  json_string(f, scenario);
  fprintf(f, ", \"metric\": \"rss_mib_growth\", \"store\": ");
  json_string(f, STORE_LABEL);
  fprintf(f, ", \"max_value\": %.1f}],\n  \"notes\": [", MAX_GROWTH_MIB);
  char note[256];
  snprintf(note, sizeof note, "Peak RSS (ru_maxrss) %.1f MiB. %ld calls in %.0f s (%.0f calls/s).",
           peak, warmup + calls, monotonic_secs() - started, (double)calls / wall);
  json_string(f, note);
  fprintf(f, "]\n}\n");
  if (fclose(f) != 0) {
    perror(path);
    return 1;
  }
  printf("results written to %s\n", path);
  return 0;
}
