// The blocking-with-a-deadline I/O the CNI shim (shim.c) and berth's front end (runtime-hooks/front/berth.c) share on
// their non-blocking unix sockets to berthd. A deadline is CLOCK_MONOTONIC milliseconds; a negative one is none.
#ifndef BERTH_SOCKET_IO_H
#define BERTH_SOCKET_IO_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BERTHD_SOCKET_DEFAULT "/run/berth/berthd.sock"

static inline int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Writes all of it; gives up quietly when the descriptor is gone (the exit code still tells).
static inline void write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    length -= (size_t)n;
  }
}

// Waits until fd is ready for `events` or the deadline passes; 0 when ready.
static inline int wait_for(int fd, short events, int64_t deadline_ms) {
  for (;;) {
    int64_t left = deadline_ms < 0 ? 60000 : deadline_ms - now_ms();
    if (left <= 0) return -1;
    struct pollfd entry = {.fd = fd, .events = events};
    int ready = poll(&entry, 1, left > 60000 ? 60000 : (int)left);
    if (ready > 0) return 0;
    if (ready < 0 && errno != EINTR) return -1;
  }
}

static inline int send_all(int fd, const char *data, size_t length, int64_t deadline_ms) {
  while (length > 0) {
    ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (wait_for(fd, POLLOUT, deadline_ms) != 0) return -1;
      continue;
    }
    if (n <= 0) return -1;
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

static inline int recv_exact(int fd, char *data, size_t length, int64_t deadline_ms) {
  while (length > 0) {
    ssize_t n = recv(fd, data, length, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (wait_for(fd, POLLIN, deadline_ms) != 0) return -1;
      continue;
    }
    if (n <= 0) return -1;
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

// A big-endian u32, as the frames to berthd carry lengths and codes.
static inline int send_u32(int fd, uint32_t value, int64_t deadline_ms) {
  char bytes[4] = {(char)(value >> 24), (char)(value >> 16), (char)(value >> 8), (char)value};
  return send_all(fd, bytes, 4, deadline_ms);
}

static inline int recv_u32(int fd, uint32_t *value, int64_t deadline_ms) {
  unsigned char bytes[4];
  if (recv_exact(fd, (char *)bytes, 4, deadline_ms) != 0) return -1;
  *value = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
  return 0;
}

// Reads up to and including the first `terminator` (at most size - 1 bytes): peeks at what has arrived, then takes
// exactly that much, so nothing after it is consumed. 0 and a NUL-terminated text, or -1 on EOF or overlong.
static inline int recv_through(int fd, char *text, size_t size, const char *terminator, int64_t deadline_ms) {
  size_t terminator_length = strlen(terminator);
  for (;;) {
    ssize_t peeked = recv(fd, text, size - 1, MSG_PEEK);
    if (peeked < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (wait_for(fd, POLLIN, deadline_ms) != 0) return -1;
      continue;
    }
    if (peeked <= 0) return -1;
    text[peeked] = '\0';
    char *found = strstr(text, terminator);
    if (found != NULL) {
      size_t length = (size_t)(found - text) + terminator_length;
      if (recv_exact(fd, text, length, deadline_ms) != 0) return -1;
      text[length] = '\0';
      return 0;
    }
    if ((size_t)peeked == size - 1 || (deadline_ms >= 0 && now_ms() > deadline_ms)) return -1;
    // Part of it has arrived (poll would report the same bytes again): give the rest a moment.
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 200 * 1000};
    nanosleep(&pause, NULL);
  }
}

// Connects to berthd ($BERTH_SOCKET, else the default) and asks for an upgrade to `protocol` on `path`; the
// connected socket (non-blocking, close-on-exec) once berthd answered 101 within `timeout_ms`, else -1. A unix
// connect completes or fails at once (ENOENT, ECONNREFUSED, EAGAIN when the backlog is full).
static inline int open_upgrade(const char *path, const char *protocol, int timeout_ms) {
  const char *socket_path = getenv("BERTH_SOCKET");
  if (socket_path == NULL || socket_path[0] == '\0') socket_path = BERTHD_SOCKET_DEFAULT;
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(socket_path) >= sizeof address.sun_path) return -1;
  strcpy(address.sun_path, socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    close(fd);
    return -1;
  }
  int64_t deadline = now_ms() + timeout_ms;
  char request[512];
  int length = snprintf(request, sizeof request,
                        "POST %s HTTP/1.1\r\nHost: berthd\r\nConnection: Upgrade\r\nUpgrade: %s\r\nContent-Length: 0\r\n\r\n",
                        path, protocol);
  char head[4096];
  int ok = length > 0 && (size_t)length < sizeof request && send_all(fd, request, (size_t)length, deadline) == 0 &&
           recv_through(fd, head, sizeof head, "\r\n\r\n", deadline) == 0;
  if (!ok || strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

#endif
