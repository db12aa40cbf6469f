/*
 * The container's process before exec: runs the plan's child-stage operations in order (mounts, devices, sync points
 * with berth-runtime, hooks, pivot_root, masks, identity, start fifo, exec). Each step reports its own failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

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

static const char *field(const struct record *record, int index) {
  if (index >= record->count) fail(record->op, 0, "missing field %d", index + 1);
  return record->fields[index];
}

/* Opens path (absolute) component by component without following any symlink; creates missing ones when asked. */
static int open_no_symlinks(const char *step, const char *path, int create_dirs, int create_file) {
  if (path[0] != '/') fail(step, 0, "not an absolute path: %s", path);
  char copy[path_max];
  if (strlen(path) >= sizeof copy) fail(step, 0, "path too long: %s", path);
  strcpy(copy, path);
  int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) fail(step, errno, "open /");
  char *save = NULL;
  char *part = strtok_r(copy, "/", &save);
  while (part != NULL) {
    char *next = strtok_r(NULL, "/", &save);
    int last = next == NULL;
    if (strcmp(part, "..") == 0) fail(step, 0, "'..' in %s", path);
    int fd = openat(dir, part, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && (create_dirs || create_file)) {
      if (last && create_file) {
        int created = openat(dir, part, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (created < 0 && errno != EEXIST) fail(step, errno, "create %s in %s", part, path);
        if (created >= 0) close(created);
      } else if (mkdirat(dir, part, 0755) < 0 && errno != EEXIST) {
        fail(step, errno, "mkdir %s in %s", part, path);
      }
      fd = openat(dir, part, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) fail(step, errno, "open %s in %s", part, path);
    struct stat info;
    if (fstat(fd, &info) < 0) fail(step, errno, "stat %s", path);
    if (S_ISLNK(info.st_mode)) fail(step, 0, "%s of %s is a symlink (refused at mount time)", part, path);
    close(dir);
    dir = fd;
    part = next;
  }
  return dir;
}

/* mount(2) onto a target reached without symlinks (through its /proc/self/fd link, as runc does). */
static void mount_at(const struct record *record) {
  const char *source = field(record, 0), *target = field(record, 1), *type = field(record, 2);
  unsigned long flags = parse_number(record->op, field(record, 3), 16);
  const char *data = field(record, 4);
  int fd = open_no_symlinks(record->op, target, 0, 0);
  char through[64];
  snprintf(through, sizeof through, "/proc/self/fd/%d", fd);
  if (mount(*source ? source : NULL, through, *type ? type : NULL, flags, *data ? data : NULL) < 0) {
    int saved = errno;
    fail(record->op, saved, "%s on %s (type %s, flags 0x%lx, data '%s')", source, target, type, flags, data);
  }
  close(fd);
}

/* Masks a path as runc does: /dev/null over a file, a read-only tmpfs over a directory; absent paths are fine. */
static void mask_path(const struct record *record) {
  const char *path = field(record, 0);
  struct stat info;
  if (lstat(path, &info) < 0) {
    if (errno == ENOENT) return;
    fail(record->op, errno, "%s", path);
  }
  int rc = S_ISDIR(info.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
                                 : mount("/dev/null", path, NULL, MS_BIND, NULL);
  if (rc < 0 && errno != ENOENT) fail(record->op, errno, "%s", path);
}

static void readonly_path(const struct record *record) {
  const char *path = field(record, 0);
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return;
    fail(record->op, errno, "bind %s", path);
  }
  if (mount(path, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
    fail(record->op, errno, "remount %s read-only", path);
}

static void pivot_root_to(const struct record *record) {
  const char *rootfs = field(record, 0);
  int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int new_root = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0 || new_root < 0) fail(record->op, errno, "open / or %s", rootfs);
  if (fchdir(new_root) < 0) fail(record->op, errno, "chdir %s", rootfs);
  /* pivot_root(".", "."): the old root ends up stacked on the new one, then is detached. */
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(record->op, errno, "pivot_root %s", rootfs);
  if (fchdir(old_root) < 0) fail(record->op, errno, "chdir old root");
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) fail(record->op, errno, "make old root rslave");
  if (umount2(".", MNT_DETACH) < 0) fail(record->op, errno, "detach old root");
  if (chdir("/") < 0) fail(record->op, errno, "chdir /");
  close(old_root);
  close(new_root);
}

static void make_node(const struct record *record) {
  const char *path = field(record, 0);
  char type = field(record, 1)[0];
  unsigned major_number = parse_number(record->op, field(record, 2), 10);
  unsigned minor_number = parse_number(record->op, field(record, 3), 10);
  mode_t mode = parse_number(record->op, field(record, 4), 8);
  uid_t uid = parse_number(record->op, field(record, 5), 10);
  gid_t gid = parse_number(record->op, field(record, 6), 10);
  mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  unlink(path);
  if (mknod(path, kind | mode, makedev(major_number, minor_number)) < 0) fail(record->op, errno, "%s", path);
  if (chmod(path, mode) < 0) fail(record->op, errno, "chmod %s", path);
  if (chown(path, uid, gid) < 0) fail(record->op, errno, "chown %s", path);
}

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

static void drop_bounding(const struct record *record) {
  unsigned long long bounding = parse_number(record->op, field(record, 0), 16);
  for (int cap = 0; cap <= 63; cap++) {
    if (bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail("capabilities", errno, "drop bounding %d", cap);
  }
}

/* capabilities: effective permitted inheritable ambient (hex masks), after the user switch. */
static void set_capabilities(const struct record *record) {
  unsigned long long sets[4];
  for (int i = 0; i < 4; i++) sets[i] = parse_number(record->op, field(record, i), 16);
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  for (int word = 0; word < 2; word++) {
    data[word].effective = (unsigned)(sets[0] >> (32 * word));
    data[word].permitted = (unsigned)(sets[1] >> (32 * word));
    data[word].inheritable = (unsigned)(sets[2] >> (32 * word));
  }
  if (syscall(SYS_capset, &header, data) < 0) fail("capabilities", errno, "capset");
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  /* As runc: an ambient capability missing from permitted or inheritable is skipped, not fatal. */
  for (int cap = 0; cap <= 63; cap++) {
    if (sets[3] & (1ULL << cap)) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  }
}

/* user: uid gid groups (comma list, may be empty); keeps the permitted set across the switch for set_capabilities. */
static void set_user(const struct record *record) {
  uid_t uid = parse_number(record->op, field(record, 0), 10);
  gid_t gid = parse_number(record->op, field(record, 1), 10);
  const char *list = field(record, 2);
  gid_t groups[256];
  int count = 0;
  for (const char *cursor = list; *cursor != '\0';) {
    if (count == 256) fail("user", 0, "more than 256 additional groups");
    char *end;
    groups[count++] = strtoul(cursor, &end, 10);
    cursor = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != '\0') fail("user", 0, "bad group list %s", list);
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("user", errno, "keep capabilities");
  if (setgroups(count, groups) < 0) fail("user", errno, "setgroups %s", list);
  if (setresgid(gid, gid, gid) < 0) fail("user", errno, "setgid %u", gid);
  if (setresuid(uid, uid, uid) < 0) fail("user", errno, "setuid %u", uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("user", errno, "clear keep capabilities");
}

/* seccomp: the filter berth-runtime compiled, 16 hex digits per instruction (code, jt, jf, k). */
static void install_seccomp(const struct record *record) {
  const char *hex = field(record, 0);
  size_t length = strlen(hex);
  if (length == 0 || length % 16 != 0 || length / 16 > BPF_MAXINSNS) fail("seccomp", 0, "a filter of %zu hex digits", length);
  size_t count = length / 16;
  struct sock_filter *program = calloc(count, sizeof *program);
  if (program == NULL) fail("seccomp", errno, "allocate");
  for (size_t i = 0; i < count; i++) {
    char part[9];
    const char *at = hex + 16 * i;
    memcpy(part, at, 4); part[4] = '\0'; program[i].code = (unsigned short)parse_number("seccomp", part, 16);
    memcpy(part, at + 4, 2); part[2] = '\0'; program[i].jt = (unsigned char)parse_number("seccomp", part, 16);
    memcpy(part, at + 6, 2); part[2] = '\0'; program[i].jf = (unsigned char)parse_number("seccomp", part, 16);
    memcpy(part, at + 8, 8); part[8] = '\0'; program[i].k = (unsigned)parse_number("seccomp", part, 16);
  }
  struct sock_fprog filter = {.len = (unsigned short)count, .filter = program};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0) < 0) fail("seccomp", errno, "install the filter");
  free(program);
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

static int dispatch(struct child *self, const struct record *record) {
  const char *op = record->op;
  if (strcmp(op, "mount") == 0) mount_at(record);
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
