/* The container's filesystem steps: mounts onto targets reached without symlinks, device nodes, masks, pivot_root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "init.h"

enum { path_max = 4096 };

/* Opens path (absolute) component by component without following any symlink; creates missing ones when asked. */
int open_no_symlinks(const char *step, const char *path, int create_dirs, int create_file) {
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
void mount_at(const struct record *record) {
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
void mask_path(const struct record *record) {
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

void readonly_path(const struct record *record) {
  const char *path = field(record, 0);
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return;
    fail(record->op, errno, "bind %s", path);
  }
  if (mount(path, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
    fail(record->op, errno, "remount %s read-only", path);
}

void pivot_root_to(const struct record *record) {
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

void make_node(const struct record *record) {
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
