// Nestbox Virtualization.framework addon — shared helpers (Objective-C++, ARC).
//
// Rules every file of the addon follows:
//  - JS calls arrive on the JS thread (the process main thread in Node and in Electron's main process).
//  - A VZVirtualMachine is touched only on its queue (`VzQueue`); completion handlers and delegate callbacks run
//    there too. Nothing on that queue calls into JavaScript directly: results cross back through a
//    Napi::ThreadSafeFunction with NonBlockingCall (never blocking, so the main queue can never deadlock against
//    the JS thread when both are the same thread).
//  - Every NSError becomes an `ErrInfo` (plain C++ strings) on the thread that received it; on the JS thread it
//    becomes a JS Error with {code:"VZ_ERROR", domain, vzCode, failureReason}. The addon's own checks use
//    domain "nestbox" and code = a NestboxError code (INVALID_ARGUMENT, UNSUPPORTED, BUSY, INTERNAL).
//  - Objective-C exceptions raised by the framework for misuse are caught at the call site and reported the same
//    way (domain "nestbox", code INTERNAL) instead of crashing the process.
#pragma once

#import <Foundation/Foundation.h>

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace nbvz {

struct ErrInfo {
  bool set = false;
  std::string domain;
  long code = 0;
  std::string message;
  std::string reason;
  // For domain "nestbox": the NestboxError code.
  std::string nestboxCode;
};

inline std::string ToStd(NSString *s) {
  if (s == nil) return std::string();
  const char *c = [s UTF8String];
  return c ? std::string(c) : std::string();
}

inline NSString *ToNS(const std::string &s) {
  NSString *r = [[NSString alloc] initWithBytes:s.data() length:s.size() encoding:NSUTF8StringEncoding];
  return r != nil ? r : @"";
}

inline ErrInfo FromNSError(NSError *e) {
  ErrInfo i;
  if (e == nil) return i;
  i.set = true;
  i.domain = ToStd(e.domain);
  i.code = (long)e.code;
  i.message = ToStd(e.localizedDescription);
  i.reason = ToStd(e.localizedFailureReason);
  return i;
}

inline ErrInfo Own(const std::string &nestboxCode, const std::string &message) {
  ErrInfo i;
  i.set = true;
  i.domain = "nestbox";
  i.nestboxCode = nestboxCode;
  i.message = message;
  return i;
}

inline ErrInfo FromException(NSException *ex, const char *where) {
  return Own("INTERNAL", std::string(where) + ": Virtualization.framework raised " + ToStd(ex.name) + " (" + ToStd(ex.reason) + ")");
}

inline Napi::Object ErrorInfoObject(Napi::Env env, const ErrInfo &i) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("domain", i.domain);
  o.Set("vzCode", Napi::Number::New(env, (double)i.code));
  o.Set("message", i.message);
  if (!i.reason.empty()) o.Set("failureReason", i.reason);
  return o;
}

inline Napi::Error ToJsError(Napi::Env env, const ErrInfo &i) {
  Napi::Error e = Napi::Error::New(env, i.message.empty() ? std::string("Virtualization.framework error") : i.message);
  e.Set("code", Napi::String::New(env, i.domain == "nestbox" ? i.nestboxCode : std::string("VZ_ERROR")));
  e.Set("domain", Napi::String::New(env, i.domain));
  e.Set("vzCode", Napi::Number::New(env, (double)i.code));
  if (!i.reason.empty()) e.Set("failureReason", Napi::String::New(env, i.reason));
  return e;
}

[[noreturn]] inline void Throw(Napi::Env env, const ErrInfo &i) { throw ToJsError(env, i); }

[[noreturn]] inline void ThrowOwn(Napi::Env env, const std::string &code, const std::string &message) {
  Throw(env, Own(code, message));
}

// A promise settled from any thread: Settle() may be called once from any thread; the JS side runs on the JS
// thread through a thread-safe function. The optional `value` builder runs on the JS thread.
class Completion : public std::enable_shared_from_this<Completion> {
 public:
  using Builder = std::function<Napi::Value(Napi::Env)>;

  static std::shared_ptr<Completion> Create(Napi::Env env, const char *name) {
    std::shared_ptr<Completion> c(new Completion(env));
    c->tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo &) {}), name, 0, 1);
    return c;
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Callable from any thread, exactly once (later calls are ignored).
  void Settle(ErrInfo err, Builder value = nullptr) {
    bool expected = false;
    if (!settled_.compare_exchange_strong(expected, true)) return;
    std::shared_ptr<Completion> self = shared_from_this();
    auto *payload = new std::pair<ErrInfo, Builder>(std::move(err), std::move(value));
    napi_status st = tsfn_.NonBlockingCall(payload, [self](Napi::Env env, Napi::Function, std::pair<ErrInfo, Builder> *p) {
      std::unique_ptr<std::pair<ErrInfo, Builder>> owned(p);
      if (env == nullptr) return;  // the environment is being torn down
      Napi::HandleScope scope(env);
      if (owned->first.set) {
        self->deferred_.Reject(ToJsError(env, owned->first).Value());
      } else {
        self->deferred_.Resolve(owned->second ? owned->second(env) : env.Undefined());
      }
    });
    if (st != napi_ok) delete payload;
    tsfn_.Release();
  }

 private:
  explicit Completion(Napi::Env env) : deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise::Deferred deferred_;
  Napi::ThreadSafeFunction tsfn_;
  std::atomic<bool> settled_{false};
};

// Runs `block` on `queue` and waits. Runs it inline when `queue` is the main queue and we are on the main thread
// (dispatch_sync to the main queue from the main thread would deadlock).
inline void RunOnQueueSync(dispatch_queue_t queue, dispatch_block_t block) {
  if (queue == dispatch_get_main_queue() && [NSThread isMainThread]) {
    block();
  } else {
    dispatch_sync(queue, block);
  }
}

}  // namespace nbvz
