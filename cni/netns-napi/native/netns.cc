// The few syscalls Node cannot make: setns, unshare (in a short-lived thread), mount, umount2, flock,
// prctl(PR_SET_DUMPABLE), and on a connected unix socket SO_PEERCRED and a non-blocking hang-up poll.
// Everything else (path checks, files, errno names, restore policy) lives in TypeScript (src/).
// Errors are thrown as JS Errors carrying `errno` (positive number) and `syscall`.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <sys/file.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& target) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + "(" + target + "): " + std::strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

// setns(fd, nstype): moves the calling thread (the JS thread) into the namespace behind fd.
Napi::Value Setns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsNumber()) return ThrowType(env, "setns(fd, nstype)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int nstype = info[1].As<Napi::Number>().Int32Value();
  if (setns(fd, nstype) != 0) return ThrowErrno(env, errno, "setns", "fd " + std::to_string(fd));
  return env.Undefined();
}

// unshareNetnsBoundTo(target): in a new thread, unshare(CLONE_NEWNET) and bind-mount that thread's
// netns on `target` (an existing file). The calling thread's namespaces are never touched.
Napi::Value UnshareNetnsBoundTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) return ThrowType(env, "unshareNetnsBoundTo(target)");
  std::string target = info[0].As<Napi::String>().Utf8Value();
  int err = 0;
  const char* failed = nullptr;
  std::thread worker([&target, &err, &failed]() {
    if (unshare(CLONE_NEWNET) != 0) {
      err = errno;
      failed = "unshare";
      return;
    }
    // /proc/self would name the thread-group leader's netns; this thread's is under thread-self.
    if (mount("/proc/thread-self/ns/net", target.c_str(), "none", MS_BIND, nullptr) != 0) {
      err = errno;
      failed = "mount";
    }
  });
  worker.join();
  if (failed != nullptr) return ThrowErrno(env, err, failed, target);
  return env.Undefined();
}

// Opens (creating missing directories, mode 0755) `relative` ("a/b") under the directory `root`, one component at a
// time with O_NOFOLLOW: a symlink or non-directory anywhere on the way is ENOTDIR, never followed.
int OpenDirBeneath(const std::string& root, const std::string& relative, const char** failed) {
  int dir = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) { *failed = "open"; return -1; }
  size_t start = 0;
  while (start < relative.size()) {
    size_t end = relative.find('/', start);
    if (end == std::string::npos) end = relative.size();
    std::string part = relative.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    int next = openat(dir, part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(dir, part.c_str(), 0755) != 0 && errno != EEXIST) { *failed = "mkdirat"; close(dir); return -1; }
      next = openat(dir, part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    int saved = errno;
    close(dir);
    if (next < 0) { errno = saved; *failed = "openat"; return -1; }
    dir = next;
  }
  return dir;
}

// bindIntoMountNamespace(sourceNsFd, source, targetNsFd, root, relativeTarget): in a new thread with its own fs
// context (unshare CLONE_FS, so setns into a mount namespace is allowed and the JS thread never moves): enter the
// source mount namespace (-1 = stay in the caller's), clone `source` as a detached mount (open_tree), make it
// read-only, nosuid, nodev, noexec (mount_setattr), enter the target mount namespace and attach it on
// root/relativeTarget (created, no symlinks followed) with move_mount. The thread then ends.
Napi::Value BindIntoMountNamespace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsString() ||
      !info[4].IsString()) {
    return ThrowType(env, "bindIntoMountNamespace(sourceNsFd, source, targetNsFd, root, relativeTarget)");
  }
  int sourceNs = info[0].As<Napi::Number>().Int32Value();
  std::string source = info[1].As<Napi::String>().Utf8Value();
  int targetNs = info[2].As<Napi::Number>().Int32Value();
  std::string root = info[3].As<Napi::String>().Utf8Value();
  std::string relative = info[4].As<Napi::String>().Utf8Value();
  int err = 0;
  const char* failed = nullptr;
  std::thread worker([&]() {
    auto fail = [&](const char* syscall) { err = errno; failed = syscall; };
    if (unshare(CLONE_FS) != 0) return fail("unshare");
    if (sourceNs >= 0 && setns(sourceNs, CLONE_NEWNS) != 0) return fail("setns");
    int tree = open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) return fail("open_tree");
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) { fail("mount_setattr"); close(tree); return; }
    if (setns(targetNs, CLONE_NEWNS) != 0) { fail("setns"); close(tree); return; }
    const char* walkFailed = nullptr;
    int target = OpenDirBeneath(root, relative, &walkFailed);
    if (target < 0) { fail(walkFailed); close(tree); return; }
    if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) fail("move_mount");
    close(target);
    close(tree);
  });
  worker.join();
  if (failed != nullptr) return ThrowErrno(env, err, failed, root + "/" + relative);
  return env.Undefined();
}

// mount(source | null, target, fstype | null, flags, data | null)
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5 || !info[1].IsString() || !info[3].IsNumber()) {
    return ThrowType(env, "mount(source, target, fstype, flags, data)");
  }
  auto optional = [](const Napi::Value& v, std::string& out) -> const char* {
    if (!v.IsString()) return nullptr;
    out = v.As<Napi::String>().Utf8Value();
    return out.c_str();
  };
  std::string source, fstype, data;
  std::string target = info[1].As<Napi::String>().Utf8Value();
  unsigned long flags = static_cast<unsigned long>(info[3].As<Napi::Number>().Int64Value());
  const char* source_c = optional(info[0], source);
  const char* fstype_c = optional(info[2], fstype);
  const char* data_c = optional(info[4], data);
  if (mount(source_c, target.c_str(), fstype_c, flags, data_c) != 0) return ThrowErrno(env, errno, "mount", target);
  return env.Undefined();
}

// umount2(target, flags)
Napi::Value Umount2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsNumber()) return ThrowType(env, "umount2(target, flags)");
  std::string target = info[0].As<Napi::String>().Utf8Value();
  int flags = info[1].As<Napi::Number>().Int32Value();
  if (umount2(target.c_str(), flags) != 0) return ThrowErrno(env, errno, "umount2", target);
  return env.Undefined();
}

// tryFlockExclusive(fd): flock(fd, LOCK_EX | LOCK_NB); true when taken, false when another holder has it.
// The kernel drops the lock when the fd is closed or the process dies, so a SIGKILLed holder never wedges it.
Napi::Value TryFlockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) return ThrowType(env, "tryFlockExclusive(fd)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  return ThrowErrno(env, errno, "flock", "fd " + std::to_string(fd));
}

// peerCredentials(fd): getsockopt(SO_PEERCRED) on a connected unix socket: the peer's {pid, uid, gid} as the kernel
// recorded them at connect(). Node has no API for it; berthd uses it to name the local user in audit entries.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) return ThrowType(env, "peerCredentials(fd)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct ucred cred;
  socklen_t length = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return ThrowErrno(env, errno, "getsockopt", "fd " + std::to_string(fd));
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("gid", Napi::Number::New(env, cred.gid));
  return out;
}

// setDumpable(flag): prctl(PR_SET_DUMPABLE): 0 keeps the process out of core dumps and ptrace by other
// non-root processes (berthd holds secret plaintext in memory).
Napi::Value SetDumpable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsBoolean()) return ThrowType(env, "setDumpable(flag)");
  if (prctl(PR_SET_DUMPABLE, info[0].As<Napi::Boolean>().Value() ? 1 : 0, 0, 0, 0) != 0) return ThrowErrno(env, errno, "prctl", "PR_SET_DUMPABLE");
  return env.Undefined();
}

// peerHungUp(fd): true when the peer of a connected socket has closed or shut down its end (poll, no wait).
Napi::Value PeerHungUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) return ThrowType(env, "peerHungUp(fd)");
  struct pollfd entry {};
  entry.fd = info[0].As<Napi::Number>().Int32Value();
  entry.events = POLLRDHUP;
  int ready = poll(&entry, 1, 0);
  if (ready < 0) return ThrowErrno(env, errno, "poll", "fd " + std::to_string(entry.fd));
  return Napi::Boolean::New(env, ready > 0 && (entry.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("peerHungUp", Napi::Function::New(env, PeerHungUp));
  exports.Set("setns", Napi::Function::New(env, Setns));
  exports.Set("unshareNetnsBoundTo", Napi::Function::New(env, UnshareNetnsBoundTo));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("bindIntoMountNamespace", Napi::Function::New(env, BindIntoMountNamespace));
  exports.Set("umount2", Napi::Function::New(env, Umount2));
  exports.Set("tryFlockExclusive", Napi::Function::New(env, TryFlockExclusive));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
  exports.Set("setDumpable", Napi::Function::New(env, SetDumpable));
  Napi::Object constants = Napi::Object::New(env);
  auto set = [&](const char* name, double value) { constants.Set(name, Napi::Number::New(env, value)); };
  set("CLONE_NEWNET", CLONE_NEWNET);
  set("CLONE_NEWNS", CLONE_NEWNS);
  set("MS_RDONLY", MS_RDONLY);
  set("MS_NOSUID", MS_NOSUID);
  set("MS_NODEV", MS_NODEV);
  set("MS_NOEXEC", MS_NOEXEC);
  set("MS_REMOUNT", MS_REMOUNT);
  set("MS_BIND", MS_BIND);
  set("MS_MOVE", MS_MOVE);
  set("MS_REC", MS_REC);
  set("MS_PRIVATE", MS_PRIVATE);
  set("MS_SLAVE", MS_SLAVE);
  set("MS_SHARED", MS_SHARED);
  set("MS_UNBINDABLE", MS_UNBINDABLE);
  set("MNT_FORCE", MNT_FORCE);
  set("MNT_DETACH", MNT_DETACH);
  set("MNT_EXPIRE", MNT_EXPIRE);
  set("UMOUNT_NOFOLLOW", UMOUNT_NOFOLLOW);
  exports.Set("constants", constants);
  return exports;
}

}  // namespace

NODE_API_MODULE(netns, Init)
