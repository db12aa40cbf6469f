// The native half of @berth/nftables-napi: one libnftables context per object, JSON output, output and
// errors buffered, optionally bound to a network namespace. Everything else (input encoding, output
// parsing, error classification) is TypeScript.
//
// Network namespaces (nftables 1.0.6): nft_ctx_new() opens the NETLINK_NETFILTER socket once and keeps it
// for the context's life, so the socket lives in the netns of the thread that created the context. Each
// run may also open short-lived sockets in the *current* thread's netns (the NETLINK_ROUTE dump behind
// interface-name lookups, `meta iif "x"`, netdev `dev`). So a bound context is created while the calling
// thread is temporarily in the target netns, and every run enters it again. setns(2) moves only the
// calling thread; the original netns is restored before returning to JavaScript, or the process aborts.
#include <napi.h>
#include <nftables/libnftables.h>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace {

// libnftables keeps process-global state (interface cache, one-time init): serialize every call into it,
// including from worker threads, which share this library instance.
std::mutex nftMutex;

Napi::Error SyscallError(Napi::Env env, const std::string& action, const char* syscall, int err) {
  Napi::Error error = Napi::Error::New(env, action + ": " + std::strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

// While alive, the calling thread is in the target netns; on destruction it is back in its original one.
// A failure to go back aborts the process: it must never go on serving work in the wrong namespace.
class ThreadNetnsScope {
 public:
  ThreadNetnsScope() = default;
  ThreadNetnsScope(const ThreadNetnsScope&) = delete;
  ThreadNetnsScope& operator=(const ThreadNetnsScope&) = delete;
  ~ThreadNetnsScope() { Restore(); }

  // Returns 0, or an errno with *syscall naming the failed call; the thread has not moved on failure.
  int Enter(int targetFd, const char** syscall) {
    originalFd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (originalFd_ < 0) {
      *syscall = "open /proc/thread-self/ns/net";
      return errno;
    }
    if (setns(targetFd, CLONE_NEWNET) != 0) {
      int err = errno;
      close(originalFd_);
      originalFd_ = -1;
      *syscall = "setns";
      return err;
    }
    return 0;
  }

  void Restore() {
    if (originalFd_ < 0) return;
    if (setns(originalFd_, CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "nftables-napi: cannot restore the thread's network namespace: %s; aborting\n",
                   std::strerror(errno));
      std::abort();
    }
    close(originalFd_);
    originalFd_ = -1;
  }

 private:
  int originalFd_ = -1;
};

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Context",
                       {InstanceMethod<&Context::Run>("run"), InstanceMethod<&Context::Close>("close")});
  }

  // new Context(netnsPath: string | null). Without a path the context is bound to the netns the calling
  // thread is in now, so its socket and its interface lookups never disagree.
  explicit Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
    Napi::Env env = info.Env();
    std::string path = "/proc/thread-self/ns/net";
    if (info.Length() > 0 && info[0].IsString()) path = info[0].As<Napi::String>().Utf8Value();
    netnsFd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (netnsFd_ < 0) throw SyscallError(env, "Cannot open network namespace " + path, "open", errno);
    bool ready;
    {
      std::lock_guard<std::mutex> lock(nftMutex);
      ThreadNetnsScope scope;
      const char* syscall = "";
      if (int err = scope.Enter(netnsFd_, &syscall)) {
        CloseNetns();
        throw SyscallError(env, "Cannot enter network namespace", syscall, err);
      }
      ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);  // opens the netfilter socket, in the current thread's netns
      scope.Restore();
      ready = ctx_ != nullptr && nft_ctx_buffer_output(ctx_) == 0 && nft_ctx_buffer_error(ctx_) == 0;
      if (ready) nft_ctx_output_set_flags(ctx_, NFT_CTX_OUTPUT_JSON);
    }
    if (!ready) {
      Free();  // the destructor does not run when a constructor throws
      throw Napi::Error::New(env, "Cannot create libnftables context");
    }
  }

  ~Context() override { Free(); }

 private:
  // run(buffer: string): { rc: number, output: string, error: string }
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (ctx_ == nullptr) throw Napi::Error::New(env, "context is closed");
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "run expects a string");
    std::string buffer = info[0].As<Napi::String>().Utf8Value();
    int rc;
    std::string output;
    std::string error;
    {
      std::lock_guard<std::mutex> lock(nftMutex);
      ThreadNetnsScope scope;
      const char* syscall = "";
      if (int err = scope.Enter(netnsFd_, &syscall)) {
        throw SyscallError(env, "Cannot enter network namespace", syscall, err);
      }
      rc = nft_run_cmd_from_buffer(ctx_, buffer.c_str());
      output = nft_ctx_get_output_buffer(ctx_);
      error = nft_ctx_get_error_buffer(ctx_);
    }  // back in the original netns here, or aborted
    Napi::Object result = Napi::Object::New(env);
    result.Set("rc", Napi::Number::New(env, rc));
    result.Set("output", Napi::String::New(env, output));
    result.Set("error", Napi::String::New(env, error));
    return result;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Free();
    return info.Env().Undefined();
  }

  void Free() {
    if (ctx_ != nullptr) {
      std::lock_guard<std::mutex> lock(nftMutex);
      nft_ctx_free(ctx_);  // closes the netfilter socket; needs no namespace
      ctx_ = nullptr;
    }
    CloseNetns();
  }

  void CloseNetns() {
    if (netnsFd_ >= 0) close(netnsFd_);
    netnsFd_ = -1;
  }

  nft_ctx* ctx_ = nullptr;
  int netnsFd_ = -1;  // pins the context's netns for its whole life
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Context", Context::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(nftables, Init)
