/* Preload library for the unmodified NetHack binary (LD_PRELOAD).
 *
 * Lantern's own code, no NetHack code: it only wraps C library calls the game
 * makes, and is loaded into the game's process by the NetHack environment.
 *
 *   NH_MARKER_FD=N  Before the game blocks reading the terminal (getc/fgetc
 *                   on stdin with nothing buffered, or read(0)), flush stdout
 *                   and write one byte to fd N. The driver reads it as "the
 *                   step is complete": exact, with no idle timeout.
 *   NH_SEED=S       Every fopen("/dev/urandom") (NetHack 3.6's only seed
 *                   source, sys_random_seed()) reads 8 bytes drawn from S and
 *                   a call counter, so a seed gives the same game.
 *   NH_TIME=T       time() returns T: the moon phase, Friday 13th and the
 *                   birthday in the record follow T, not the host clock.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int marker_fd = -1;
static int have_seed = 0;
static uint64_t seed_state = 0;
static int have_time = 0;
static time_t fixed_time = 0;

static int (*real_getc)(FILE*);
static int (*real_fgetc)(FILE*);
static ssize_t (*real_read)(int, void*, size_t);
static FILE* (*real_fopen)(const char*, const char*);
static time_t (*real_time)(time_t*);

__attribute__((constructor)) static void shim_init(void) {
  real_getc = (int (*)(FILE*))dlsym(RTLD_NEXT, "getc");
  real_fgetc = (int (*)(FILE*))dlsym(RTLD_NEXT, "fgetc");
  real_read = (ssize_t(*)(int, void*, size_t))dlsym(RTLD_NEXT, "read");
  real_fopen = (FILE * (*)(const char*, const char*)) dlsym(RTLD_NEXT, "fopen");
  real_time = (time_t(*)(time_t*))dlsym(RTLD_NEXT, "time");
  const char* s = getenv("NH_MARKER_FD");
  if (s != NULL && *s != '\0') marker_fd = atoi(s);
  s = getenv("NH_SEED");
  if (s != NULL && *s != '\0') {
    have_seed = 1;
    seed_state = strtoull(s, NULL, 10);
  }
  s = getenv("NH_TIME");
  if (s != NULL && *s != '\0') {
    have_time = 1;
    fixed_time = (time_t)strtoll(s, NULL, 10);
  }
}

/* Tells the driver that the game is about to wait for a key. */
static void signal_waiting(void) {
  if (marker_fd < 0) return;
  fflush(stdout);
  const char byte = 'w';
  while (write(marker_fd, &byte, 1) < 0) {
    if (errno == EINTR) continue;
    marker_fd = -1; /* the driver is gone: stop signalling */
    break;
  }
}

/* glibc keeps a FILE's unread bytes between _IO_read_ptr and _IO_read_end. */
static void before_stdin_read(FILE* f) {
  if (f == stdin && f->_IO_read_ptr >= f->_IO_read_end) signal_waiting();
}

int getc(FILE* f) {
  before_stdin_read(f);
  return real_getc(f);
}

int fgetc(FILE* f) {
  before_stdin_read(f);
  return real_fgetc(f);
}

ssize_t read(int fd, void* buf, size_t n) {
  if (fd == 0) signal_waiting();
  return real_read(fd, buf, n);
}

/* splitmix64 */
static uint64_t next_seed(void) {
  uint64_t z = (seed_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static unsigned char seed_bytes[64];

FILE* fopen(const char* path, const char* mode) {
  if (have_seed && path != NULL && strcmp(path, "/dev/urandom") == 0) {
    for (size_t i = 0; i < sizeof seed_bytes; i += 8) {
      const uint64_t v = next_seed();
      memcpy(seed_bytes + i, &v, 8);
    }
    return fmemopen(seed_bytes, sizeof seed_bytes, "r");
  }
  return real_fopen(path, mode);
}

time_t time(time_t* out) {
  if (!have_time) return real_time(out);
  if (out != NULL) *out = fixed_time;
  return fixed_time;
}
