/* The container's identity: bounding set, user and groups, capability sets, seccomp filter. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "init.h"

void drop_bounding(const struct record *record) {
  unsigned long long bounding = parse_number(record->op, field(record, 0), 16);
  for (int cap = 0; cap <= 63; cap++) {
    if (bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail("capabilities", errno, "drop bounding %d", cap);
  }
}

/* capabilities: effective permitted inheritable ambient (hex masks), after the user switch. */
void set_capabilities(const struct record *record) {
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
void set_user(const struct record *record) {
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
void install_seccomp(const struct record *record) {
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
