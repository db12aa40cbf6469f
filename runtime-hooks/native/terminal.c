/* Passing the pty master (SCM_RIGHTS, as runc's console socket) and relaying it to the caller's terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"

int send_fd(int socket_fd, int fd, const char *name) {
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct iovec data = {.iov_base = (void *)name, .iov_len = strlen(name)};
  struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof(int));
  return sendmsg(socket_fd, &message, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int receive_fd(int socket_fd) {
  char name[4096];
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec data = {.iov_base = name, .iov_len = sizeof name};
  struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t got;
  do got = recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
  while (got < 0 && errno == EINTR);
  if (got <= 0) {
    if (got == 0) errno = 0;
    return -1;
  }
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  if (header == NULL || header->cmsg_type != SCM_RIGHTS) {
    errno = EBADMSG;
    return -1;
  }
  int fd;
  memcpy(&fd, CMSG_DATA(header), sizeof(int));
  return fd;
}

static volatile sig_atomic_t window_changed = 1;

static void on_window_change(int signal_number) {
  (void)signal_number;
  window_changed = 1;
}

/* Copies what is readable on from to to; returns 0 at EOF or error (a closed pty slave reads EIO). */
static int copy_once(int from, int to) {
  char buffer[16384];
  ssize_t got = read(from, buffer, sizeof buffer);
  if (got < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (got <= 0) return 0;
  for (ssize_t done = 0; done < got;) {
    ssize_t put = write(to, buffer + done, got - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return 0;
    done += put;
  }
  return 1;
}

int relay_terminal(int master_fd, pid_t child) {
  struct termios saved;
  int raw = isatty(0) && tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios settings = saved;
    cfmakeraw(&settings);
    tcsetattr(0, TCSANOW, &settings);
  }
  signal(SIGWINCH, on_window_change);
  struct pollfd fds[2] = {{.fd = master_fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
  for (;;) {
    if (window_changed) {
      window_changed = 0;
      struct winsize size;
      if (isatty(0) && ioctl(0, TIOCGWINSZ, &size) == 0) ioctl(master_fd, TIOCSWINSZ, &size);
    }
    int ready = poll(fds, fds[1].fd >= 0 ? 2 : 1, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!copy_once(master_fd, 1)) break;
    }
    if (fds[1].fd >= 0 && fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      /* Caller's stdin ended: stop reading it, the container keeps running. */
      if (!copy_once(0, master_fd)) fds[1].fd = -1;
    }
  }
  if (raw) tcsetattr(0, TCSANOW, &saved);
  close(master_fd);
  return wait_exit_code(child);
}
