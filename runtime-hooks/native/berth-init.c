/*
 * berth-init: reads a plan from berth-runtime on fd 3, does the parent-stage operations (fifo, cgroup joins, setns,
 * unshare, console socket), forks the container's process and hands the rest of the plan to it (child.c).
 * Every failure is reported as "error STEP: detail" on fd 3 before exiting 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

enum { records_max = 4096, fields_max = 4096, plan_bytes_max = 4 << 20 };

void report(const char *format, ...) {
  char line[8192];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(line, sizeof line - 1, format, args);
  va_end(args);
  if (length < 0) return;
  if (length > (int)sizeof line - 2) length = sizeof line - 2;
  for (int i = 0; i < length; i++) if (line[i] == '\n') line[i] = ' ';
  line[length++] = '\n';
  ssize_t written = send(SYNC_FD, line, length, MSG_NOSIGNAL);
  (void)written;
}

int errors_to_stderr = 0;

void fail(const char *step, int errno_value, const char *format, ...) {
  char detail[4096];
  va_list args;
  va_start(args, format);
  vsnprintf(detail, sizeof detail, format, args);
  va_end(args);
  if (errors_to_stderr) {
    if (errno_value != 0) dprintf(2, "berth-init: %s: %s: %s\n", step, detail, strerror(errno_value));
    else dprintf(2, "berth-init: %s: %s\n", step, detail);
  } else if (errno_value != 0) {
    report("error %s: %s: %s", step, detail, strerror(errno_value));
  } else {
    report("error %s: %s", step, detail);
  }
  _exit(1);
}

unsigned long long parse_number(const char *step, const char *text, int base) {
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, base);
  if (errno != 0 || end == text || *end != '\0') fail(step, 0, "not a number: %s", text);
  return value;
}

/* Bytes read from the sync socket but not yet parsed (inherited by the child at fork, consistently). */
static struct {
  char data[65536];
  size_t start, end;
} incoming;

static char next_byte(int fd) {
  while (incoming.start == incoming.end) {
    ssize_t got = read(fd, incoming.data, sizeof incoming.data);
    if (got == 0) fail("plan", 0, "berth-runtime closed the sync socket");
    if (got < 0 && errno != EINTR) fail("plan", errno, "read");
    if (got > 0) {
      incoming.start = 0;
      incoming.end = (size_t)got;
    }
  }
  return incoming.data[incoming.start++];
}

/* Reads one NUL-terminated string (at most plan_bytes_max in total), growing buffer as needed. */
static char *read_string(int fd, size_t *total) {
  size_t capacity = 64, length = 0;
  char *text = malloc(capacity);
  if (text == NULL) fail("plan", errno, "allocate");
  for (;;) {
    char byte = next_byte(fd);
    if (++*total > plan_bytes_max) fail("plan", 0, "plan larger than %d bytes", plan_bytes_max);
    if (length + 1 >= capacity) {
      capacity *= 2;
      text = realloc(text, capacity);
      if (text == NULL) fail("plan", errno, "allocate");
    }
    text[length++] = byte;
    if (byte == '\0') return text;
  }
}

void read_records(int fd, struct plan *plan, const char *until) {
  size_t total = 0;
  plan->records = calloc(records_max, sizeof *plan->records);
  plan->count = 0;
  if (plan->records == NULL) fail("plan", errno, "allocate");
  for (;;) {
    if (plan->count == records_max) fail("plan", 0, "more than %d records", records_max);
    char *count_text = read_string(fd, &total);
    unsigned long long count = parse_number("plan", count_text, 10);
    free(count_text);
    if (count < 1 || count > fields_max) fail("plan", 0, "record with %llu fields", count);
    struct record *record = &plan->records[plan->count++];
    record->op = read_string(fd, &total);
    record->count = (int)count - 1;
    record->fields = calloc(count, sizeof(char *));
    if (record->fields == NULL) fail("plan", errno, "allocate");
    for (int i = 0; i < record->count; i++) record->fields[i] = read_string(fd, &total);
    if (strcmp(record->op, until) == 0) return;
  }
}

static void need_fields(const struct record *record, int count) {
  if (record->count < count) fail(record->op, 0, "needs %d fields, got %d", count, record->count);
}

static void write_file(const char *step, const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(step, errno, "open %s", path);
  if (write(fd, text, strlen(text)) < 0) fail(step, errno, "write %s to %s", text, path);
  close(fd);
}

static int connect_socket(const char *path) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) fail("console-socket", 0, "path too long: %s", path);
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("console-socket", errno, "socket");
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) fail("console-socket", errno, "connect %s", path);
  return fd;
}

int wait_exit_code(pid_t child) {
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return 255;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

/* The forking point. mode: detached (exit now), wait (exit with the child's code), wait-tty (relay a pty too). */
static void fork_child(const struct plan *plan, int index, int console_fd) {
  const char *mode = plan->records[index].fields[0];
  int relay[2] = {-1, -1};
  int tty = strcmp(mode, "wait-tty") == 0;
  if (tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, relay) < 0) fail("fork", errno, "socketpair");
  /* Terminal signals stay blocked across the fork: the waiting parent ignores them before it takes any, the child
     gets its dispositions untouched (its hooks, then its process). */
  sigset_t waiting_signals, previous;
  sigemptyset(&waiting_signals);
  sigaddset(&waiting_signals, SIGINT);
  sigaddset(&waiting_signals, SIGTERM);
  sigaddset(&waiting_signals, SIGHUP);
  sigaddset(&waiting_signals, SIGQUIT);
  sigprocmask(SIG_BLOCK, &waiting_signals, &previous);
  /* The child waits until its pid is reported, so "pid" is always berth-runtime's first message. */
  int reported[2];
  if (pipe2(reported, O_CLOEXEC) < 0) fail("fork", errno, "pipe");
  pid_t child = fork();
  if (child < 0) fail("fork", errno, "fork");
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &previous, NULL);
    char byte;
    close(reported[1]);
    if (read(reported[0], &byte, 1) != 1) _exit(1);
    close(reported[0]);
    if (tty) close(relay[0]);
    run_child(plan, index + 1, tty ? relay[1] : (console_fd >= 0 ? console_fd : -1));
  }
  report("pid %d", child);
  close(reported[0]);
  if (write(reported[1], "1", 1) != 1) fail("fork", errno, "release the child");
  close(reported[1]);
  close(SYNC_FD);
  if (console_fd >= 0) close(console_fd);
  if (strcmp(mode, "detached") == 0) _exit(0);
  /* Signals for the container are forwarded by berth-runtime (a terminal's go through the pty); this one waits. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  sigprocmask(SIG_SETMASK, &previous, NULL);
  if (!tty) _exit(wait_exit_code(child));
  close(relay[1]);
  int master = receive_fd(relay[0]);
  close(relay[0]);
  if (master < 0) _exit(wait_exit_code(child));
  _exit(relay_terminal(master, child));
}

int main(void) {
  if (fcntl(SYNC_FD, F_GETFD) < 0) {
    fprintf(stderr, "berth-init: run by berth-runtime only (no sync socket on fd %d)\n", SYNC_FD);
    return 1;
  }
  struct plan plan;
  read_records(SYNC_FD, &plan, "end");
  int console_fd = -1;
  for (int i = 0; i < plan.count; i++) {
    const struct record *record = &plan.records[i];
    const char *op = record->op;
    if (strcmp(op, "mkfifo") == 0) {
      need_fields(record, 1);
      /* 0622 whatever the umask: a container user other than root writes it to report readiness. */
      if (mkfifo(record->fields[0], 0622) < 0 || chmod(record->fields[0], 0622) < 0) fail(op, errno, "%s", record->fields[0]);
    } else if (strcmp(op, "cgroup-join") == 0) {
      need_fields(record, 1);
      write_file(op, record->fields[0], "0");
    } else if (strcmp(op, "setns") == 0) {
      need_fields(record, 1);
      int fd = open(record->fields[0], O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail(op, errno, "open %s", record->fields[0]);
      if (setns(fd, 0) < 0) fail(op, errno, "join %s", record->fields[0]);
      close(fd);
    } else if (strcmp(op, "unshare") == 0) {
      need_fields(record, 1);
      if (unshare((int)parse_number(op, record->fields[0], 16)) < 0) fail(op, errno, "flags %s", record->fields[0]);
    } else if (strcmp(op, "write") == 0) {
      need_fields(record, 2);
      write_file(op, record->fields[0], record->fields[1]);
    } else if (strcmp(op, "sync") == 0) {
      /* berth-runtime does something to this process from outside (writes a new user namespace's maps). */
      need_fields(record, 1);
      report("sync %s", record->fields[0]);
      struct plan reply;
      read_records(SYNC_FD, &reply, "ok");
    } else if (strcmp(op, "become-root") == 0) {
      /* In a user namespace: root there, so the namespaces made next belong to it with full capabilities. */
      if (setresgid(0, 0, 0) < 0) fail(op, errno, "setresgid 0");
      if (setgroups(0, NULL) < 0) fail(op, errno, "setgroups");
      if (setresuid(0, 0, 0) < 0) fail(op, errno, "setresuid 0");
    } else if (strcmp(op, "console-socket") == 0) {
      need_fields(record, 1);
      console_fd = connect_socket(record->fields[0]);
    } else if (strcmp(op, "fork") == 0) {
      need_fields(record, 1);
      fork_child(&plan, i, console_fd);
    } else {
      fail(op, 0, "unknown parent-stage operation");
    }
  }
  fail("plan", 0, "no fork operation");
}
