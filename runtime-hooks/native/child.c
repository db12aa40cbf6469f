/*
 * The container's process before exec: runs the plan's child-stage operations in order (mounts, devices, sync points
 * with berth-runtime, hooks, pivot_root, masks, identity, start fifo, exec); filesystem steps are in fs.c, identity
 * in identity.c. Each step reports its own failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

/* Declared in init.h: shared by the step files. */
const char *field(const struct record *record, int index) {
  if (index >= record->count) fail(record->op, 0, "missing field %d", index + 1);
  return record->fields[index];
}

enum { states_max = 8, path_max = 4096 };

/* What the child keeps between operations. */
struct child {
  const struct record *process;   /* "process" record: argc, args…, env… */
  char **argv;
  char **envp;
  char resolved[path_max];        /* args[0] looked up in PATH */
  int fifo_dir_fd;
  int terminal_fd;                /* where the pty master goes: console socket or the foreground relay */
  const char *state_kind[states_max];
  const char *state_json[states_max];
  int states;
};

/* Runs one hook with the state kind's JSON on stdin, killed after timeout seconds (0: none). */
static void run_hook(struct child *self, const struct record *record) {
  const char *kind = field(record, 0);
  unsigned long timeout = parse_number(record->op, field(record, 1), 10);
  const char *path = field(record, 2);
  int argc = (int)parse_number(record->op, field(record, 3), 10);
  if (argc < 0 || 4 + argc > record->count) fail(record->op, 0, "bad argument count for %s", path);
  const char *state = NULL;
  for (int i = 0; i < self->states; i++) if (strcmp(self->state_kind[i], kind) == 0) state = self->state_json[i];
  if (state == NULL) fail(record->op, 0, "no state for %s hooks", kind);
  char *argv[argc + 1], *envp[record->count - 4 - argc + 1];
  for (int i = 0; i < argc; i++) argv[i] = record->fields[4 + i];
  argv[argc] = NULL;
  int envc = record->count - 4 - argc;
  for (int i = 0; i < envc; i++) envp[i] = record->fields[4 + argc + i];
  envp[envc] = NULL;
  int input[2];
  if (pipe2(input, O_CLOEXEC) < 0) fail(record->op, errno, "pipe");
  pid_t hook = fork();
  if (hook < 0) fail(record->op, errno, "fork");
  if (hook == 0) {
    dup2(input[0], 0);
    execve(path, argc > 0 ? argv : (char *[]){(char *)path, NULL}, envp);
    dprintf(2, "%s hook %s: %s\n", kind, path, strerror(errno));
    _exit(127);
  }
  close(input[0]);
  ssize_t written = write(input[1], state, strlen(state));
  (void)written;
  close(input[1]);
  struct timespec started, now;
  clock_gettime(CLOCK_MONOTONIC, &started);
  int status = 0;
  for (;;) {
    pid_t done = waitpid(hook, &status, timeout > 0 ? WNOHANG : 0);
    if (done == hook) break;
    if (done < 0 && errno != EINTR) fail(record->op, errno, "wait for %s", path);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (timeout > 0 && (unsigned long)(now.tv_sec - started.tv_sec) >= timeout) {
      kill(hook, SIGKILL);
      waitpid(hook, &status, 0);
      fail("hook", 0, "%s hook %s ran past its timeout of %lus", kind, path, timeout);
    }
    usleep(2000);
  }
  if (WIFSIGNALED(status)) fail("hook", 0, "%s hook %s was killed by signal %d", kind, path, WTERMSIG(status));
  if (WEXITSTATUS(status) != 0) fail("hook", 0, "%s hook %s exited with status %d", kind, path, WEXITSTATUS(status));
}

/* Tells berth-runtime we reached a sync point, then reads its answer: state records, then "ok". */
static void sync_point(struct child *self, const struct record *record) {
  report("sync %s", field(record, 0));
  struct plan reply;
  read_records(SYNC_FD, &reply, "ok");
  for (int i = 0; i < reply.count; i++) {
    const struct record *answer = &reply.records[i];
    if (strcmp(answer->op, "state") != 0) continue;
    if (self->states == states_max) fail("sync", 0, "too many states");
    self->state_kind[self->states] = field(answer, 0);
    self->state_json[self->states++] = field(answer, 1);
  }
}

/* A pty whose slave becomes stdio and controlling terminal; the master goes to the terminal fd. */
static void open_terminal(struct child *self, const struct record *record) {
  unsigned short columns = parse_number(record->op, field(record, 0), 10);
  unsigned short rows = parse_number(record->op, field(record, 1), 10);
  if (self->terminal_fd < 0) fail("terminal", 0, "no console socket or terminal to hand the pty to");
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail("terminal", errno, "open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail("terminal", errno, "unlock pty");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) fail("terminal", errno, "open pty slave");
  if (columns > 0 && rows > 0) {
    struct winsize size = {.ws_row = rows, .ws_col = columns};
    ioctl(master, TIOCSWINSZ, &size);
  }
  if (send_fd(self->terminal_fd, master, "/dev/ptmx") < 0) fail("terminal", errno, "send the pty master");
  close(master);
  close(self->terminal_fd);
  self->terminal_fd = -1;
  if (setsid() < 0) fail("terminal", errno, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) fail("terminal", errno, "set controlling terminal");
  for (int fd = 0; fd < 3; fd++) if (dup2(slave, fd) < 0) fail("terminal", errno, "dup2 pty to %d", fd);
  if (slave > 2) close(slave);
}

static void take_process(struct child *self, const struct record *record) {
  int argc = (int)parse_number(record->op, field(record, 0), 10);
  if (argc < 1 || 1 + argc > record->count) fail("process", 0, "bad argument count");
  int envc = record->count - 1 - argc;
  self->argv = calloc(argc + 1, sizeof(char *));
  self->envp = calloc(envc + 1, sizeof(char *));
  if (self->argv == NULL || self->envp == NULL) fail("process", errno, "allocate");
  for (int i = 0; i < argc; i++) self->argv[i] = record->fields[1 + i];
  for (int i = 0; i < envc; i++) self->envp[i] = record->fields[1 + argc + i];
  self->process = record;
}

/* args[0] as exec.LookPath finds it: a name with a slash as is, else the first executable in the env's PATH. */
static void look_up(struct child *self) {
  if (self->argv == NULL) fail("lookup", 0, "no process");
  const char *name = self->argv[0];
  if (strchr(name, '/') != NULL) {
    if (access(name, X_OK) < 0) fail("lookup", errno, "exec: \"%s\"", name);
    snprintf(self->resolved, sizeof self->resolved, "%s", name);
    return;
  }
  const char *path = "";
  for (char **env = self->envp; *env != NULL; env++) if (strncmp(*env, "PATH=", 5) == 0) path = *env + 5;
  const char *cursor = path;
  for (;;) {
    const char *end = strchr(cursor, ':');
    size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
    snprintf(self->resolved, sizeof self->resolved, "%.*s/%s", (int)length, length ? cursor : ".", name);
    struct stat info;
    if (stat(self->resolved, &info) == 0 && S_ISREG(info.st_mode) && access(self->resolved, X_OK) == 0) return;
    if (end == NULL) break;
    cursor = end + 1;
  }
  fail("lookup", 0, "exec: \"%s\": executable file not found in $PATH", name);
}

/*
 * Blocks until `start` opens the fifo for reading, then writes the byte it waits for. The write end stays open
 * (close-on-exec) through the startContainer hooks: `start` reads until EOF, which comes when the process is
 * exec'd (or the init died), so the poststart hooks run after the container's process started, as the spec says.
 */
static void wait_for_start(struct child *self) {
  int fd = openat(self->fifo_dir_fd, "exec.fifo", O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("start", errno, "open exec.fifo");
  if (write(fd, "0", 1) != 1) fail("start", errno, "write exec.fifo");
  close(self->fifo_dir_fd);
  self->fifo_dir_fd = -1;
}

static void exec_process(struct child *self) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  execve(self->resolved, self->argv, self->envp);
  fail("exec", errno, "exec %s", self->resolved);
}

/* A new network namespace starts with lo down; runc brings it up (its "loopback" network), so do engines' users. */
static void loopback_up(void) {
  struct ifreq request = {0};
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("loopback-up", errno, "socket");
  strcpy(request.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &request) < 0) fail("loopback-up", errno, "get flags of lo");
  request.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &request) < 0) fail("loopback-up", errno, "set lo up");
  close(fd);
}

static int dispatch(struct child *self, const struct record *record) {
  const char *op = record->op;
  if (strcmp(op, "mount") == 0) mount_at(record);
  else if (strcmp(op, "loopback-up") == 0) loopback_up();
  else if (strcmp(op, "mkdir") == 0) close(open_no_symlinks(op, field(record, 0), 1, 0));
  else if (strcmp(op, "mkfile") == 0) close(open_no_symlinks(op, field(record, 0), 1, 1));
  else if (strcmp(op, "symlink") == 0) {
    unlink(field(record, 1));
    if (symlink(field(record, 0), field(record, 1)) < 0) fail(op, errno, "%s -> %s", field(record, 1), field(record, 0));
  } else if (strcmp(op, "mknod") == 0) make_node(record);
  else if (strcmp(op, "sync") == 0) sync_point(self, record);
  else if (strcmp(op, "hook") == 0) run_hook(self, record);
  else if (strcmp(op, "fifo-dir") == 0) {
    self->fifo_dir_fd = open(field(record, 0), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (self->fifo_dir_fd < 0) fail(op, errno, "%s", field(record, 0));
  } else if (strcmp(op, "pivot-root") == 0) pivot_root_to(record);
  else if (strcmp(op, "mask") == 0) mask_path(record);
  else if (strcmp(op, "readonly") == 0) readonly_path(record);
  else if (strcmp(op, "hostname") == 0) {
    if (sethostname(field(record, 0), strlen(field(record, 0))) < 0) fail(op, errno, "%s", field(record, 0));
  } else if (strcmp(op, "domainname") == 0) {
    if (setdomainname(field(record, 0), strlen(field(record, 0))) < 0) fail(op, errno, "%s", field(record, 0));
  } else if (strcmp(op, "write") == 0) {
    int fd = open(field(record, 0), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || write(fd, field(record, 1), strlen(field(record, 1))) < 0) fail(op, errno, "%s", field(record, 0));
    close(fd);
  } else if (strcmp(op, "rlimit") == 0) {
    struct rlimit limit = {.rlim_cur = parse_number(op, field(record, 1), 10), .rlim_max = parse_number(op, field(record, 2), 10)};
    if (setrlimit((int)parse_number(op, field(record, 0), 10), &limit) < 0) fail(op, errno, "resource %s", field(record, 0));
  } else if (strcmp(op, "terminal") == 0) open_terminal(self, record);
  else if (strcmp(op, "no-new-privileges") == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(op, errno, "prctl");
  } else if (strcmp(op, "seccomp") == 0) install_seccomp(record);
  else if (strcmp(op, "user") == 0) set_user(record);
  else if (strcmp(op, "bounding") == 0) drop_bounding(record);
  else if (strcmp(op, "capabilities") == 0) set_capabilities(record);
  else if (strcmp(op, "umask") == 0) umask((mode_t)parse_number(op, field(record, 0), 8));
  else if (strcmp(op, "chdir") == 0) {
    if (chdir(field(record, 0)) < 0) fail("cwd", errno, "chdir to cwd %s", field(record, 0));
  } else if (strcmp(op, "process") == 0) take_process(self, record);
  else if (strcmp(op, "lookup") == 0) look_up(self);
  else if (strcmp(op, "ready") == 0) {
    report("ready");
    errors_to_stderr = 1;
  }
  else if (strcmp(op, "wait-start") == 0) wait_for_start(self);
  else if (strcmp(op, "exec") == 0) exec_process(self);
  else return -1;
  return 0;
}

void run_child(const struct plan *plan, int from, int terminal_fd) {
  struct child self = {.fifo_dir_fd = -1, .terminal_fd = terminal_fd};
  signal(SIGPIPE, SIG_IGN);
  for (int i = from; i < plan->count; i++) {
    const struct record *record = &plan->records[i];
    if (strcmp(record->op, "end") == 0) break;
    if (dispatch(&self, record) < 0) fail(record->op, 0, "unknown operation");
  }
  fail("plan", 0, "plan ended without exec");
}
