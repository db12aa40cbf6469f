// berth: the command's native front end (built by scripts/build.sh as runtime-hooks/build/berth). Every command but
// a foreground `berth run` goes straight to the Node CLI (an exec, with the caller's environment). For `berth run` it
// first asks berthd to serve the run (runtime-hooks/src/daemon/run-service.ts has the protocol): berthd prepares the
// container and drives its creation with the runtime, hooks and CNI plugins it has loaded, while this program starts
// berth-init on berthd's word -- so the container inherits this process's stdio, as under runc -- forwards the
// signals it receives, waits for the container and reports its exit. When berthd is absent, declines or says
// "fallback" (nothing has run yet in all three), this program execs the Node CLI instead.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../cni/shim/socket-io.h"

#ifndef BERTH_NODE
#error "BERTH_NODE (absolute path of node) must be defined by the build"
#endif
#ifndef BERTH_CLI
#error "BERTH_CLI (absolute path of runtime-hooks/bin/berth.js) must be defined by the build"
#endif
#ifndef BERTH_INIT
#error "BERTH_INIT (absolute path of runtime-hooks/build/berth-init) must be defined by the build"
#endif

#define UPGRADE_PROTOCOL "berth-run/1"

enum {
  FRAME_BYTES_MAX = 256 * 1024,
  LINE_BYTES_MAX = 128,
  STDERR_BYTES_MAX = 64 * 1024,
  // berthd answers an upgrade at once; no answer in this long means it is hung: run the Node CLI instead.
  ACCEPT_TIMEOUT_MS = 2000,
};

static char **cli_argv;
static char frame[FRAME_BYTES_MAX];
static size_t frame_bytes;
static int control_fd = -1;

static void say(const char *text) { write_all(2, text, strlen(text)); }

// The Node CLI with this command line and environment. Does not return.
static void exec_cli(int argc, char **argv) {
  if (control_fd >= 0) close(control_fd);
  cli_argv = calloc((size_t)argc + 2, sizeof *cli_argv);
  if (cli_argv == NULL) {
    say("berth: out of memory\n");
    exit(1);
  }
  cli_argv[0] = "node";
  cli_argv[1] = BERTH_CLI;
  for (int i = 1; i < argc; i++) cli_argv[i + 1] = argv[i];
  signal(SIGPIPE, SIG_DFL);
  execv(BERTH_NODE, cli_argv);
  say("berth: cannot exec " BERTH_NODE " " BERTH_CLI "\n");
  exit(1);
}

static void frame_add(const char *text) {
  size_t length = strlen(text) + 1;
  if (frame_bytes + length > FRAME_BYTES_MAX) {
    say("berth: the command line and BERTH_* settings are too large\n");
    exit(1);
  }
  memcpy(frame + frame_bytes, text, length);
  frame_bytes += length;
}

// The call frame: cwd, argc, the arguments after "run", the BERTH_* variables.
static void build_frame(int argc, char **argv, char **envp) {
  static char cwd[4096];
  static char count[16];
  if (getcwd(cwd, sizeof cwd) == NULL) {
    say("berth: cannot read the working directory\n");
    exit(1);
  }
  frame_add(cwd);
  snprintf(count, sizeof count, "%d", argc - 2);
  frame_add(count);
  for (int i = 2; i < argc; i++) frame_add(argv[i]);
  for (char **entry = envp; *entry != NULL; entry++) {
    if (strncmp(*entry, "BERTH_", 6) == 0) frame_add(*entry);
  }
}

// "WORD VALUE\n" to berthd. Called from a signal handler too, so only async-signal-safe work: the line is built by
// hand (no snprintf) and sent once, never blocking (a full socket would mean berthd stopped reading).
static void send_line(const char *word, unsigned value) {
  char line[LINE_BYTES_MAX];
  size_t length = 0;
  while (*word != '\0' && length < sizeof line - 16) line[length++] = *word++;
  line[length++] = ' ';
  char digits[12];
  size_t count = 0;
  do {
    digits[count++] = (char)('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (count > 0) line[length++] = digits[--count];
  line[length++] = '\n';
  ssize_t sent = send(control_fd, line, length, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)sent;
}

static void forward_signal(int signal_number) {
  int saved = errno;
  send_line("signal", (unsigned)signal_number);
  errno = saved;
}

static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void catch_signals(void) {
  struct sigaction action = {.sa_handler = forward_signal};
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++) {
    sigaction(forwarded_signals[i], &action, NULL);
  }
}

// Starts berth-init with the attach connection as its fd 3 and the caller's stdio; returns its pid.
static pid_t start_init(int attach_fd) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  struct sigaction fallback = {.sa_handler = SIG_DFL};
  sigemptyset(&fallback.sa_mask);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++) {
    sigaction(forwarded_signals[i], &fallback, NULL);
  }
  sigaction(SIGPIPE, &fallback, NULL);
  // berth-init reads its plan with blocking reads: the connection was opened non-blocking for the upgrade.
  if (dup2(attach_fd, 3) != 3 || fcntl(3, F_SETFL, fcntl(3, F_GETFL) & ~O_NONBLOCK) != 0) _exit(127);
  char *argv[] = {"berth-init", NULL};
  char *envp[] = {NULL};
  execve(BERTH_INIT, argv, envp);
  _exit(127);
}

static int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// After "spawn TOKEN": attach, start berth-init, wait for it and report its exit; returns that exit code, or -1 when
// berth-init could not be started (berthd then releases the container when this process hangs up).
static int run_container(const char *token) {
  char path[LINE_BYTES_MAX + 16];
  snprintf(path, sizeof path, "/v1/run/%s", token);
  int attach_fd = open_upgrade(path, UPGRADE_PROTOCOL, ACCEPT_TIMEOUT_MS);
  if (attach_fd < 0) {
    say("berth: berthd did not take the container's init connection\n");
    return -1;
  }
  pid_t init = start_init(attach_fd);
  close(attach_fd);
  if (init < 0) {
    say("berth: cannot fork berth-init\n");
    return -1;
  }
  send_line("helper", (unsigned)init);
  int status = 0;
  while (waitpid(init, &status, 0) < 0) {
    if (errno != EINTR) {
      status = 1 << 8;
      break;
    }
  }
  int code = exit_code_of(status);
  send_line("exit", (unsigned)code);
  return code;
}

int main(int argc, char **argv, char **envp) {
  if (argc < 2 || strcmp(argv[1], "run") != 0) exec_cli(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  control_fd = open_upgrade("/v1/run", UPGRADE_PROTOCOL, ACCEPT_TIMEOUT_MS);
  if (control_fd < 0) exec_cli(argc, argv);
  // From here on berthd may run the container: signals are the container's.
  catch_signals();
  build_frame(argc, argv, envp);
  if (send_u32(control_fd, (uint32_t)frame_bytes, -1) != 0 || send_all(control_fd, frame, frame_bytes, -1) != 0) {
    say("berth: the connection to berthd broke while sending the run\n");
    return 125;
  }
  int container_code = -1;
  char line[LINE_BYTES_MAX];
  for (;;) {
    if (recv_through(control_fd, line, sizeof line, "\n", -1) != 0) break;
    line[strlen(line) - 1] = '\0';
    if (strcmp(line, "fallback") == 0 && container_code < 0) exec_cli(argc, argv);
    if (strncmp(line, "spawn ", 6) == 0 && strlen(line) == 6 + 32 && container_code < 0) {
      container_code = run_container(line + 6);
      if (container_code < 0) return 125;
      continue;
    }
    unsigned long code, bytes;
    char extra;
    if (sscanf(line, "done %lu %lu%c", &code, &bytes, &extra) == 2 && code <= 255 && bytes <= STDERR_BYTES_MAX) {
      static char text[STDERR_BYTES_MAX];
      if (recv_exact(control_fd, text, bytes, -1) != 0) break;
      write_all(2, text, bytes);
      return (int)code;
    }
    break;
  }
  if (container_code >= 0) {
    say("berth: lost berthd before it finished the container (see berth ps)\n");
    return container_code;
  }
  say("berth: berthd closed the connection during the run (see berth ps)\n");
  return 125;
}
