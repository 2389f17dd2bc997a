/*
 * spawn-helper: starts commands for gpipe's NativeSpawner (src/executors/native-spawner.ts).
 *
 * One long-lived process per spawner. Node spawns a process for ~1.3 ms of main-thread CPU;
 * vfork+exec from here costs a fraction of that and runs beside the orchestrator, not in it.
 *
 * Requests on stdin: u32 little-endian length, then that many bytes of NUL-terminated fields.
 *   E  base argc envc              a base environment: envc "KEY=VALUE" fields follow
 *   S  id base argc envc dirc linkc cwd log
 *                                  spawn: argc argv fields, envc "KEY=VALUE" fields that
 *                                  override base environment `base` (-1: none), dirc directories
 *                                  to create with their parents, linkc pairs (target, path) of
 *                                  symbolic links to make; existing ones are left as they are
 * Replies on stdout, 64-byte little-endian records:
 *   u32 type  u32 id  i32 pid  i32 code  i32 signal  i32 maxrss_kb  f64 user_us  f64 sys_us
 *   u32 flags u32 reserved  f64 inblock  f64 oublock
 *   type 0 hello:   id = PROTOCOL_VERSION, sent once at start
 *   type 1 spawned: pid
 *   type 2 failed:  code = errno, signal = the step that failed (0 exec, 1 cwd, 2 log file,
 *                   3 directory, 4 link), flags = the index of that directory or link
 *   type 3 exited:  code = exit status or -1, signal = signal number or 0, rusage of wait4
 *                   (the child and every descendant it reaped: CPU, peak RSS, 512-byte blocks
 *                   read from and written to storage), flags bit 0 = its process group was
 *                   empty once the child had been reaped.
 * Each child leads its own process group, reads /dev/null, runs in cwd with exactly the
 * environment given. Its stdout and stderr are pipes that this helper reads (poll) and appends
 * to the log file line by line, each line as `2026-12-01T20:00:00.123Z stdout | text` (the time
 * the helper read it, UTC): timestamps and stream names without Node in the path. The exited
 * reply comes once the pipes have been drained of what the child wrote; a descendant still
 * holding them keeps being captured until it closes them (or its group is killed). Orphaned grandchildren come to the
 * helper (a child subreaper), which reaps them at once. When stdin closes (the orchestrator is
 * gone or closed us), the groups still running are SIGKILLed and reaped, and the helper exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"

#define PROTOCOL_VERSION 2
#define REPLY_SIZE 64
#define STEP_EXEC 0
#define STEP_CWD 1
#define STEP_LOG 2
#define STEP_DIRECTORY 3
#define STEP_LINK 4

struct child {
  pid_t pid;
  uint32_t id;
};

/* One output stream of a child on its way to the log: the pipe, the log, an unfinished line. */
struct capture {
  int fd;     /* the pipe's read end, nonblocking */
  int log_fd; /* the log, O_APPEND: each batch of lines is one write */
  pid_t pid;  /* the child whose stream this is */
  const char *stream;
  char *partial;
  size_t partial_length, partial_capacity;
};

#define MAX_LINE 65536

struct base_env {
  char *block; /* the strings, NUL-separated */
  char **entries;
  size_t *key_lengths;
  size_t count;
};

static struct child *children;
static size_t child_count, child_capacity;
static struct base_env *bases;
static size_t base_count;
static char **envp_buffer;
static size_t envp_capacity;
static unsigned char out[REPLY_SIZE * 256];
static size_t out_length;
static int devnull = -1;
static struct capture *captures;
static size_t capture_count, capture_capacity;
static char *formatted;
static size_t formatted_capacity;
static sigset_t no_signals;
static const int reset_signals[] = {SIGINT, SIGQUIT, SIGPIPE};
static struct sigaction default_action = {.sa_handler = SIG_DFL};

static void *grow(void *array, size_t *capacity, size_t needed, size_t size) {
  if (needed <= *capacity) return array;
  size_t next = *capacity ? *capacity * 2 : 16;
  while (next < needed) next *= 2;
  void *grown = realloc(array, next * size);
  if (!grown) _exit(70);
  *capacity = next;
  return grown;
}

static void flush_replies(void) {
  size_t done = 0;
  while (done < out_length) {
    ssize_t n = write(STDOUT_FILENO, out + done, out_length - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      out_length = 0; /* the orchestrator is gone: stdin will end too */
      return;
    }
    done += (size_t)n;
  }
  out_length = 0;
}

static unsigned char *reply(uint32_t type, uint32_t id) {
  if (out_length + REPLY_SIZE > sizeof out) flush_replies();
  unsigned char *r = out + out_length;
  memset(r, 0, REPLY_SIZE);
  memcpy(r, &type, 4);
  memcpy(r + 4, &id, 4);
  out_length += REPLY_SIZE;
  return r;
}

static void put_i32(unsigned char *r, size_t at, int32_t value) { memcpy(r + at, &value, 4); }
static void put_f64(unsigned char *r, size_t at, double value) { memcpy(r + at, &value, 8); }

static void reply_failed(uint32_t id, int error, int step, uint32_t index) {
  unsigned char *r = reply(2, id);
  put_i32(r, 12, error);
  put_i32(r, 16, step);
  memcpy(r + 40, &index, 4);
}

/* Splits `count` NUL-terminated fields off *cursor; NULL when the record is short. */
static char *field(char **cursor, char *end) {
  char *start = *cursor;
  char *nul = memchr(start, '\0', (size_t)(end - start));
  if (!nul) return NULL;
  *cursor = nul + 1;
  return start;
}

static long number(char **cursor, char *end, int *ok) {
  char *text = field(cursor, end);
  if (!text) {
    *ok = 0;
    return 0;
  }
  return strtol(text, NULL, 10);
}

static void define_base(char *cursor, char *end) {
  int ok = 1;
  long index = number(&cursor, end, &ok);
  long count = number(&cursor, end, &ok);
  if (!ok || index < 0 || count < 0 || (size_t)index != base_count) _exit(65);
  size_t capacity = base_count;
  bases = grow(bases, &capacity, base_count + 1, sizeof *bases);
  struct base_env *base = &bases[base_count++];
  size_t length = (size_t)(end - cursor);
  base->block = malloc(length + 1);
  base->entries = malloc(((size_t)count + 1) * sizeof(char *));
  base->key_lengths = malloc(((size_t)count + 1) * sizeof(size_t));
  if (!base->block || !base->entries || !base->key_lengths) _exit(70);
  memcpy(base->block, cursor, length);
  char *at = base->block, *block_end = base->block + length;
  base->count = 0;
  for (long i = 0; i < count; i++) {
    char *entry = field(&at, block_end);
    if (!entry) _exit(65);
    char *equals = strchr(entry, '=');
    base->entries[base->count] = entry;
    base->key_lengths[base->count++] = equals ? (size_t)(equals - entry) : strlen(entry);
  }
}

/* The environment: the base's entries that the overrides do not name, then the overrides. */
static char **build_env(long base_index, char **overrides, size_t override_count) {
  struct base_env *base = base_index >= 0 && (size_t)base_index < base_count ? &bases[base_index] : NULL;
  size_t most = (base ? base->count : 0) + override_count + 1;
  envp_buffer = grow(envp_buffer, &envp_capacity, most, sizeof(char *));
  size_t n = 0;
  for (size_t i = 0; base && i < base->count; i++) {
    const char *entry = base->entries[i];
    size_t key_length = base->key_lengths[i];
    int overridden = 0;
    for (size_t j = 0; j < override_count && !overridden; j++) {
      overridden = strncmp(overrides[j], entry, key_length) == 0 && overrides[j][key_length] == '=';
    }
    if (!overridden) envp_buffer[n++] = (char *)entry;
  }
  for (size_t j = 0; j < override_count; j++) envp_buffer[n++] = overrides[j];
  envp_buffer[n] = NULL;
  return envp_buffer;
}

static const char *path_of(char **envp) {
  for (char **e = envp; *e; e++) {
    if (strncmp(*e, "PATH=", 5) == 0) return *e + 5;
  }
  return "/usr/bin:/bin"; /* libuv's default when the environment has no PATH */
}

/* What a vforked child could not do, written in the memory it shares with us until it execs. */
static volatile int child_error, child_step;

/*
 * vfork, then in the child (which borrows our memory and stack until it execs, so it only makes
 * system calls): its own process group, default signals, /dev/null in, the log out, the cwd.
 * Cheaper than posix_spawn, which maps a stack and resets all 64 signals on every call.
 */
static pid_t start_child(const char *path, char **argv, char **envp, const char *cwd, int out_fd, int err_fd, int *error, int *step) {
  child_error = 0;
  pid_t pid = vfork();
  if (pid == 0) {
    setpgid(0, 0);
    sigprocmask(SIG_SETMASK, &no_signals, NULL);
    for (size_t i = 0; i < sizeof reset_signals / sizeof *reset_signals; i++) sigaction(reset_signals[i], &default_action, NULL);
    if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0) {
      child_step = STEP_LOG;
    } else if (cwd[0] && chdir(cwd) != 0) {
      child_step = STEP_CWD;
    } else {
      execve(path, argv, envp);
      child_step = STEP_EXEC;
    }
    child_error = errno;
    _exit(127);
  }
  if (pid < 0) {
    *error = errno;
    *step = STEP_EXEC;
    return 0;
  }
  if (child_error != 0) {
    /* It has exited already: reap it here, it never was one of ours. */
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    *error = child_error;
    *step = child_step;
    return 0;
  }
  return pid;
}

static void close_all(const int *fds, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (fds[i] >= 0) close(fds[i]);
  }
}

static void add_capture(int fd, int log_fd, pid_t pid, const char *stream) {
  fcntl(fd, F_SETFL, O_NONBLOCK);
  size_t capacity = capture_capacity;
  captures = grow(captures, &capacity, capture_count + 1, sizeof *captures);
  capture_capacity = capacity;
  captures[capture_count++] = (struct capture){.fd = fd, .log_fd = log_fd, .pid = pid, .stream = stream};
}

/* `2026-12-01T20:00:00.123Z stdout | ` into `prefix`; returns its length. */
static size_t line_prefix(char *prefix, size_t size, const char *stream) {
  struct timespec now;
  struct tm utc;
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &utc);
  int n = snprintf(prefix, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s | ", utc.tm_year + 1900, utc.tm_mon + 1,
                   utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, now.tv_nsec / 1000000L, stream);
  return n > 0 ? (size_t)n : 0;
}

static size_t formatted_length;

static void put_text(const char *text, size_t length) {
  size_t capacity = formatted_capacity;
  formatted = grow(formatted, &capacity, formatted_length + length, 1);
  formatted_capacity = capacity;
  memcpy(formatted + formatted_length, text, length);
  formatted_length += length;
}

static void put_line(struct capture *c, const char *prefix, size_t prefix_length, const char *text, size_t length) {
  put_text(prefix, prefix_length);
  if (c->partial_length > 0) {
    put_text(c->partial, c->partial_length);
    c->partial_length = 0;
  }
  put_text(text, length);
  put_text("\n", 1);
}

static void write_formatted(int fd) {
  size_t done = 0;
  while (done < formatted_length) {
    ssize_t n = write(fd, formatted + done, formatted_length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* a full disk loses output, never the run */
    done += (size_t)n;
  }
  formatted_length = 0;
}

/*
 * Reads what the pipe holds now, appending each whole line to the log; an unfinished line waits
 * for its end (or for MAX_LINE bytes). Returns 0 once the pipe is at its end (the unfinished
 * line is then written too), 1 while it is open.
 */
static int drain(struct capture *c, int until_empty) {
  static char chunk[65536];
  char prefix[64];
  size_t prefix_length = 0;
  int open_still = 1;
  for (;;) {
    ssize_t n = read(c->fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      open_still = 0;
      break;
    }
    if (prefix_length == 0) prefix_length = line_prefix(prefix, sizeof prefix, c->stream);
    char *at = chunk, *end = chunk + n;
    char *newline;
    while ((newline = memchr(at, '\n', (size_t)(end - at))) != NULL) {
      put_line(c, prefix, prefix_length, at, (size_t)(newline - at));
      at = newline + 1;
    }
    size_t rest = (size_t)(end - at);
    if (c->partial_length + rest > MAX_LINE) {
      put_line(c, prefix, prefix_length, at, rest);
    } else if (rest > 0) {
      c->partial = grow(c->partial, &c->partial_capacity, c->partial_length + rest, 1);
      memcpy(c->partial + c->partial_length, at, rest);
      c->partial_length += rest;
    }
    if (!until_empty && (size_t)n < sizeof chunk) break; /* most likely empty now: spare a read */
  }
  if (!open_still && c->partial_length > 0) {
    if (prefix_length == 0) prefix_length = line_prefix(prefix, sizeof prefix, c->stream);
    put_line(c, prefix, prefix_length, "", 0);
  }
  write_formatted(c->log_fd);
  return open_still;
}

/* Keeps the order of the others: a child's stdout is read before its stderr. */
static void drop_capture(size_t i) {
  close(captures[i].fd);
  close(captures[i].log_fd);
  free(captures[i].partial);
  memmove(&captures[i], &captures[i + 1], (capture_count - i - 1) * sizeof *captures);
  capture_count--;
}

/* Drains the captures of `pid` (0: every one); those at their end are dropped. */
static void drain_captures(pid_t pid) {
  for (size_t i = 0; i < capture_count;) {
    if ((pid == 0 || captures[i].pid == pid) && !drain(&captures[i], 1)) drop_capture(i);
    else i++;
  }
}

static void spawn_child(char *cursor, char *end) {
  int ok = 1;
  uint32_t id = (uint32_t)number(&cursor, end, &ok);
  long base = number(&cursor, end, &ok);
  long argc = number(&cursor, end, &ok);
  long envc = number(&cursor, end, &ok);
  long dirc = number(&cursor, end, &ok);
  long linkc = number(&cursor, end, &ok);
  char *cwd = field(&cursor, end);
  char *log = field(&cursor, end);
  if (!ok || !cwd || !log || argc < 1 || envc < 0 || dirc < 0 || linkc < 0) _exit(65);
  size_t fields = (size_t)(argc + envc + dirc + 2 * linkc);
  char **argv = malloc((fields + 1) * sizeof(char *));
  if (!argv) _exit(70);
  for (size_t i = 0; i < fields; i++) {
    argv[i] = field(&cursor, end);
    if (!argv[i]) _exit(65);
  }
  char **overrides = argv + argc;
  char **dirs = overrides + envc;
  char **links = dirs + dirc;
  for (long i = 0; i < dirc; i++) {
    int error = make_directory(dirs[i]);
    if (error) {
      reply_failed(id, error, STEP_DIRECTORY, (uint32_t)i);
      free(argv);
      return;
    }
  }
  for (long i = 0; i < linkc; i++) {
    if (symlink(links[2 * i], links[2 * i + 1]) != 0 && errno != EEXIST) {
      reply_failed(id, errno, STEP_LINK, (uint32_t)i);
      free(argv);
      return;
    }
  }
  char **envp = build_env(base, overrides, (size_t)envc);
  char *program = argv[0];
  argv[argc] = NULL; /* over a field already used: overrides[0] is in envp, dirs are made */

  char path[4096];
  int log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (log_fd < 0 || pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    reply_failed(id, errno, STEP_LOG, 0);
    close_all((int[]){log_fd, out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}, 5);
    free(argv);
    return;
  }
  int error = find_program(program, path_of(envp), cwd, path, sizeof path);
  int step = STEP_EXEC;
  pid_t pid = error == 0 ? start_child(path, argv, envp, cwd, out_pipe[1], err_pipe[1], &error, &step) : 0;
  close_all((int[]){out_pipe[1], err_pipe[1]}, 2);
  if (error != 0) {
    close_all((int[]){log_fd, out_pipe[0], err_pipe[0]}, 3);
    reply_failed(id, error, step, 0);
  } else {
    int second_log = fcntl(log_fd, F_DUPFD_CLOEXEC, 0);
    add_capture(out_pipe[0], log_fd, pid, "stdout");
    add_capture(err_pipe[0], second_log, pid, "stderr");
    size_t capacity = child_capacity;
    children = grow(children, &capacity, child_count + 1, sizeof *children);
    child_capacity = capacity;
    children[child_count].pid = pid;
    children[child_count++].id = id;
    put_i32(reply(1, id), 8, pid);
  }
  free(argv);
}

static void reap(int block) {
  int status;
  struct rusage usage;
  pid_t pid;
  while ((pid = wait4(-1, &status, block ? 0 : WNOHANG, &usage)) > 0) {
    size_t i = 0;
    while (i < child_count && children[i].pid != pid) i++;
    if (i == child_count) continue;
    /* Its group empty, the pipes hold all it wrote: the log is whole before it is announced. */
    drain_captures(pid);
    unsigned char *r = reply(3, children[i].id);
    children[i] = children[--child_count];
    put_i32(r, 8, pid);
    put_i32(r, 12, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    put_i32(r, 16, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    put_i32(r, 20, (int32_t)usage.ru_maxrss);
    put_f64(r, 24, (double)usage.ru_utime.tv_sec * 1e6 + (double)usage.ru_utime.tv_usec);
    put_f64(r, 32, (double)usage.ru_stime.tv_sec * 1e6 + (double)usage.ru_stime.tv_usec);
    put_f64(r, 48, (double)usage.ru_inblock);
    put_f64(r, 56, (double)usage.ru_oublock);
    uint32_t flags = kill(-pid, 0) != 0 && errno == ESRCH ? 1 : 0;
    memcpy(r + 40, &flags, 4);
    if (block && child_count == 0) break;
  }
}

static void handle_requests(unsigned char *data, size_t length, size_t *consumed) {
  size_t at = 0;
  while (length - at >= 4) {
    uint32_t size;
    memcpy(&size, data + at, 4);
    if (length - at - 4 < size) break;
    char *record = (char *)data + at + 4;
    char *end = record + size;
    char *cursor = record;
    char *kind = field(&cursor, end);
    if (!kind) _exit(65);
    if (kind[0] == 'S') spawn_child(cursor, end);
    else if (kind[0] == 'E') define_base(cursor, end);
    else _exit(65);
    at += 4 + size;
  }
  *consumed = at;
}

int main(void) {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  sigprocmask(SIG_BLOCK, &blocked, NULL);
  int signals = signalfd(-1, &blocked, SFD_CLOEXEC | SFD_NONBLOCK);
  /* Ctrl-C reaches the orchestrator's whole process group; the orchestrator decides. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (signals < 0 || devnull < 0) return 71;
  /* Orphaned grandchildren come to us and are reaped at once: a group whose leader has gone is
   * then empty as soon as its members have exited, whatever init does with zombies. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  sigemptyset(&no_signals);

  put_i32(reply(0, PROTOCOL_VERSION), 8, (int32_t)getpid());
  flush_replies();

  size_t capacity = 1 << 16, length = 0;
  unsigned char *in = malloc(capacity);
  if (!in) return 70;
  struct pollfd *fds = NULL;
  size_t fds_capacity = 0;
  for (;;) {
    fds = grow(fds, &fds_capacity, capture_count + 2, sizeof *fds);
    fds[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = signals, .events = POLLIN};
    size_t watched = capture_count;
    for (size_t i = 0; i < watched; i++) fds[i + 2] = (struct pollfd){.fd = captures[i].fd, .events = POLLIN};
    if (poll(fds, watched + 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    /* Output first: an exit reaped below then finds its pipes mostly read already. */
    for (size_t i = 0, at = 0; i < watched; i++) {
      if (fds[i + 2].revents && !drain(&captures[at], 0)) drop_capture(at);
      else at++;
    }
    if (fds[1].revents) {
      struct signalfd_siginfo info[16];
      while (read(signals, info, sizeof info) > 0) {
      }
      reap(0);
    }
    if (fds[0].revents) {
      if (length == capacity) {
        capacity *= 2;
        in = realloc(in, capacity);
        if (!in) return 70;
      }
      ssize_t n = read(STDIN_FILENO, in + length, capacity - length);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      length += (size_t)n;
      size_t consumed;
      handle_requests(in, length, &consumed);
      memmove(in, in + consumed, length - consumed);
      length -= consumed;
      /* A record longer than the buffer: make room for all of it. */
      if (length >= 4) {
        uint32_t size;
        memcpy(&size, in, 4);
        while (capacity < (size_t)size + 4) capacity *= 2;
        in = realloc(in, capacity);
        if (!in) return 70;
      }
    }
    flush_replies();
  }
  /* The orchestrator is gone: nothing it started may outlive it. */
  for (size_t i = 0; i < child_count; i++) kill(-children[i].pid, SIGKILL);
  if (child_count > 0) reap(1);
  drain_captures(0);
  flush_replies();
  return 0;
}
