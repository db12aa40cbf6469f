/* berth-init: the part of berth-runtime that Node cannot do (see runtime-hooks/src/runtime/README.md). */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

#include <stddef.h>
#include <sys/types.h>

/* The sync socket to berth-runtime (Node), inherited as fd 3. */
#define SYNC_FD 3

/* One plan record: an operation name and its string fields, as berth-runtime encoded them. */
struct record {
  const char *op;
  int count;          /* number of fields after op */
  char **fields;
};

struct plan {
  struct record *records;
  int count;
};

/* Reads NUL-separated records ("N\0op\0field…") from fd until a record named `until`; exits on malformed input. */
void read_records(int fd, struct plan *plan, const char *until);

/* Writes one line to berth-runtime over the sync socket (errors ignored: berth-runtime may be gone). */
void report(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Set once berth-runtime stopped listening (after "ready"): failures then go to stderr, as runc's init does. */
extern int errors_to_stderr;

/* Reports "error STEP: detail: strerror(errno)" (when errno_value != 0) and exits 1. */
void fail(const char *step, int errno_value, const char *format, ...) __attribute__((format(printf, 3, 4), noreturn));

/* Runs the child's operations from plan index `from`; returns only by exec or exit. */
void run_child(const struct plan *plan, int from, int relay_fd) __attribute__((noreturn));

/* Sends fd over a connected unix socket with SCM_RIGHTS (payload: name). Returns 0 or -1 with errno. */
int send_fd(int socket_fd, int fd, const char *name);

/* Receives one fd sent with send_fd; returns it, or -1 (errno set, 0 on a clean EOF). */
int receive_fd(int socket_fd);

/* Foreground terminal: relays stdin/stdout to the pty master until the container exits; returns its status. */
int relay_terminal(int master_fd, pid_t child);

/* Waits for child and maps its status as runc does: the exit code, or 128 + signal. */
int wait_exit_code(pid_t child);

unsigned long long parse_number(const char *step, const char *text, int base);

/* A record's field, or a failure naming the operation. */
const char *field(const struct record *record, int index);

/* fs.c: the container's filesystem. */
int open_no_symlinks(const char *step, const char *path, int create_dirs, int create_file);
void mount_at(const struct record *record);
void mask_path(const struct record *record);
void readonly_path(const struct record *record);
void pivot_root_to(const struct record *record);
void make_node(const struct record *record);

/* identity.c: who the process is and what it may do. */
void drop_bounding(const struct record *record);
void set_user(const struct record *record);
void set_capabilities(const struct record *record);
void install_seccomp(const struct record *record);

#endif
