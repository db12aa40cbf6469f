// The few syscalls Node cannot make: setns, unshare (in a short-lived thread), mount, umount2, flock, and on a
// connected unix socket SO_PEERCRED and a non-blocking hang-up poll (berthd's CNI service: who is calling).
// Everything else (path checks, files, errno names, restore policy) lives in TypeScript (src/).
// Errors are thrown as JS Errors carrying `errno` (positive number) and `syscall`.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <sched.h>
#include <string>
#include <sys/file.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <thread>

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

// peerCredentials(fd): SO_PEERCRED of a connected unix socket: { pid, uid, gid } of the process that connected
// (as of connect(2)).
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) return ThrowType(env, "peerCredentials(fd)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct ucred credentials {};
  socklen_t length = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    return ThrowErrno(env, errno, "getsockopt", "fd " + std::to_string(fd));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, credentials.pid));
  out.Set("uid", Napi::Number::New(env, credentials.uid));
  out.Set("gid", Napi::Number::New(env, credentials.gid));
  return out;
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
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
  exports.Set("peerHungUp", Napi::Function::New(env, PeerHungUp));
  exports.Set("setns", Napi::Function::New(env, Setns));
  exports.Set("unshareNetnsBoundTo", Napi::Function::New(env, UnshareNetnsBoundTo));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount2", Napi::Function::New(env, Umount2));
  exports.Set("tryFlockExclusive", Napi::Function::New(env, TryFlockExclusive));
  Napi::Object constants = Napi::Object::New(env);
  auto set = [&](const char* name, double value) { constants.Set(name, Napi::Number::New(env, value)); };
  set("CLONE_NEWNET", CLONE_NEWNET);
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
