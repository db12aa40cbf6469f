// The CNI shim: every cni/bin/berth-* is this program (built by scripts/build.sh). It forwards one CNI call -- the
// CNI_* variables and stdin, nothing else of its environment -- to berthd over its unix socket and prints berthd's
// answer with its exit code. When berthd is not there, refuses, declines, or does not accept within a bound, it execs
// the bundled Node plugin with a clean, fixed environment instead. The protocol (see cni/src/agent/README.md):
//
//   shim -> berthd   POST /v1/cni/<plugin> HTTP/1.1, Upgrade: berth-cni/1        (nothing has run yet)
//   berthd -> shim   HTTP/1.1 101 ...                                          (else: fall back to exec)
//   shim -> berthd   u32 envBytes, "NAME=VALUE\0"..., u32 stdinBytes, stdin     (from here on, no fallback)
//   berthd -> shim   u32 exitCode, u32 stdoutBytes, stdout, u32 stderrBytes, stderr
//
// berthd runs nothing before the call frame arrives, and the shim sends it only after the 101, so a call runs once:
// in berthd, or exec'd -- never both. All integers are big-endian. Every buffer is static with a fixed size, every
// read is bounded by its buffer and by a deadline.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "socket-io.h"

#ifndef BERTH_NODE
#error "BERTH_NODE (absolute path of node) must be defined by the build"
#endif
#ifndef BERTH_BUNDLE_DIR
#error "BERTH_BUNDLE_DIR (absolute path of cni/dist/bundle) must be defined by the build"
#endif

#define UPGRADE_PROTOCOL "berth-cni/1"
#define FALLBACK_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum {
  // The skeleton's config limit (1 MiB) plus one byte, so an oversized config gets the skeleton's own error.
  STDIN_BYTES_MAX = 1024 * 1024 + 1,
  ENV_BYTES_MAX = 64 * 1024,
  ENV_ENTRIES_MAX = 64,
  STDOUT_BYTES_MAX = 4 * 1024 * 1024,
  STDERR_BYTES_MAX = 64 * 1024,
  PLUGIN_NAME_BYTES_MAX = 48,
  // berthd answers the upgrade at once (before any plugin work); no answer in this long means it is hung: exec.
  ACCEPT_TIMEOUT_MS = 2000,
  // Once the call is sent it runs in berthd: wait this long for its answer, then fail the call (never exec it).
  ANSWER_TIMEOUT_MS = 600 * 1000,
};

static char stdin_data[STDIN_BYTES_MAX];
static size_t stdin_bytes;
static int stdin_is_device;
static char env_block[ENV_BYTES_MAX];
static size_t env_bytes;
static char *fallback_env[ENV_ENTRIES_MAX + 8];
static size_t fallback_env_count;
static char stdout_data[STDOUT_BYTES_MAX];
static char stderr_data[STDERR_BYTES_MAX];
static char plugin_name[PLUGIN_NAME_BYTES_MAX + 1];

// A CNI error result (the spec's JSON) on stdout, exit 1. Used only for failures of the shim itself.
static void fail(int code, const char *message) {
  char text[1024];
  int n = snprintf(text, sizeof text, "{\"cniVersion\":\"1.1.0\",\"code\":%d,\"msg\":\"%s: %s\"}\n", code,
                   plugin_name[0] ? plugin_name : "berth CNI shim", message);
  if (n > 0) write_all(1, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
  exit(1);
}

// The plugin is named by the executable's file name: berth-[a-z0-9-]+ (messages and paths are built from it).
static void read_plugin_name(const char *argv0) {
  const char *slash = strrchr(argv0, '/');
  const char *name = slash ? slash + 1 : argv0;
  size_t length = strlen(name);
  int valid = length > 6 && length <= PLUGIN_NAME_BYTES_MAX && strncmp(name, "berth-", 6) == 0;
  for (size_t i = 0; valid && i < length; i++) {
    char c = name[i];
    valid = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  }
  if (!valid) fail(999, "the executable must be named berth-<plugin>");
  memcpy(plugin_name, name, length + 1);
}

// stdin to its end, at most STDIN_BYTES_MAX bytes. A terminal or /dev/null (a person running the plugin by hand)
// is no input, as for the Node skeleton; a closed stdin too.
static void read_stdin(void) {
  struct stat st;
  if (fstat(0, &st) != 0) return;
  if (S_ISCHR(st.st_mode)) {
    stdin_is_device = 1;
    return;
  }
  while (stdin_bytes < STDIN_BYTES_MAX) {
    ssize_t n = read(0, stdin_data + stdin_bytes, STDIN_BYTES_MAX - stdin_bytes);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd wait = {.fd = 0, .events = POLLIN};
        poll(&wait, 1, -1);
        continue;
      }
      fail(5, "cannot read the network configuration from stdin");
    }
    stdin_bytes += (size_t)n;
  }
}

static int starts_with(const char *text, const char *prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }

// The CNI_* variables as the call frame's NUL-separated block, and the fallback's environment: a fixed PATH, the
// CNI_* variables, and the Node plugin's own BERTH_* knobs (state root, berthd's socket, logs, crash-test failpoints,
// timing).
static void collect_env(char **envp) {
  static const char *const berth_knobs[] = {"BERTH_ROOT=", "BERTH_SOCKET=", "BERTH_LOG_LEVEL=", "BERTH_LOG_FILE=",
                                            "BERTH_FAILPOINTS=", "BERTH_TIMING="};
  fallback_env[fallback_env_count++] = FALLBACK_PATH;
  for (char **entry = envp; *entry != NULL; entry++) {
    int cni = starts_with(*entry, "CNI_");
    int knob = 0;
    for (size_t i = 0; i < sizeof berth_knobs / sizeof berth_knobs[0]; i++) knob |= starts_with(*entry, berth_knobs[i]);
    if (!cni && !knob) continue;
    if (fallback_env_count >= ENV_ENTRIES_MAX) fail(4, "too many CNI_ and BERTH_ environment variables");
    fallback_env[fallback_env_count++] = *entry;
    if (!cni) continue;
    size_t length = strlen(*entry) + 1;
    if (env_bytes + length > ENV_BYTES_MAX) fail(4, "the CNI_ environment variables are too large");
    memcpy(env_block + env_bytes, *entry, length);
    env_bytes += length;
  }
  fallback_env[fallback_env_count] = NULL;
}

// The bundled Node plugin, with stdin as read (from a memfd) and the fixed environment. Does not return.
static void exec_node_plugin(void) {
  if (!stdin_is_device) {
    int memfd = memfd_create("berth-cni-stdin", 0);
    if (memfd < 0) fail(999, "cannot hold stdin for the Node plugin (memfd_create)");
    size_t written = 0;
    while (written < stdin_bytes) {
      ssize_t n = write(memfd, stdin_data + written, stdin_bytes - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail(999, "cannot hold stdin for the Node plugin (write)");
      written += (size_t)n;
    }
    if (lseek(memfd, 0, SEEK_SET) != 0 || dup2(memfd, 0) != 0) fail(999, "cannot hand stdin to the Node plugin");
    close(memfd);
  }
  signal(SIGPIPE, SIG_DFL);
  char *argv[] = {"node", BERTH_BUNDLE_DIR "/run.cjs", plugin_name, NULL};
  execve(BERTH_NODE, argv, fallback_env);
  fail(999, "cannot exec the Node plugin " BERTH_NODE " " BERTH_BUNDLE_DIR "/run.cjs");
}

// Connects and asks for the upgrade; the connected socket once berthd answered 101, else -1 (fall back).
static int open_session(void) {
  char path[PLUGIN_NAME_BYTES_MAX + 16];
  snprintf(path, sizeof path, "/v1/cni/%s", plugin_name);
  return open_upgrade(path, UPGRADE_PROTOCOL, ACCEPT_TIMEOUT_MS);
}

// Sends the call frame and prints berthd's answer; returns the plugin's exit code.
static int forward_call(int fd) {
  int64_t deadline = now_ms() + ANSWER_TIMEOUT_MS;
  if (send_u32(fd, (uint32_t)env_bytes, deadline) != 0 || send_all(fd, env_block, env_bytes, deadline) != 0 ||
      send_u32(fd, (uint32_t)stdin_bytes, deadline) != 0 || send_all(fd, stdin_data, stdin_bytes, deadline) != 0) {
    fail(999, "berthd accepted the call but the connection broke while sending it; the call may have run: DEL it");
  }
  uint32_t exit_code, stdout_length, stderr_length;
  if (recv_u32(fd, &exit_code, deadline) != 0) {
    fail(999, "berthd closed the connection or did not answer during the call (it may have crashed): DEL it");
  }
  if (recv_u32(fd, &stdout_length, deadline) != 0 || stdout_length > STDOUT_BYTES_MAX ||
      recv_exact(fd, stdout_data, stdout_length, deadline) != 0 || recv_u32(fd, &stderr_length, deadline) != 0 ||
      stderr_length > STDERR_BYTES_MAX || recv_exact(fd, stderr_data, stderr_length, deadline) != 0) {
    fail(999, "berthd sent a malformed answer");
  }
  close(fd);
  write_all(2, stderr_data, stderr_length);
  write_all(1, stdout_data, stdout_length);
  return exit_code > 255 ? 1 : (int)exit_code;
}

int main(int argc, char **argv, char **envp) {
  (void)argc;
  signal(SIGPIPE, SIG_IGN);
  read_plugin_name(argv[0] != NULL ? argv[0] : "");
  read_stdin();
  collect_env(envp);
  int fd = open_session();
  if (fd < 0) exec_node_plugin();
  signal(SIGPIPE, SIG_DFL);
  return forward_call(fd);
}
