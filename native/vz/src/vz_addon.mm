// Nestbox Virtualization.framework addon: module functions and the VzMachine object.
// Threading rules: see vz_common.h. Surface: native/vz/index.d.ts.

#import <AppKit/AppKit.h>
#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>

#include "vz_common.h"
#include "vz_spec.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace nbvz {

// ------------------------------------------------------------------------------------------------ events

struct Event {
  std::string type;  // state | guestDidStop | didStopWithError | networkDisconnected | windowClosed
  long state = 0;
  ErrInfo error;
};

// Delivers events to the JS `onEvent` callback from any thread. Emit() after Close() is a no-op.
class EventSink {
 public:
  EventSink(Napi::Env env, Napi::Function fn) { tsfn_ = Napi::ThreadSafeFunction::New(env, fn, "vz.events", 0, 1); }

  void Emit(Event ev) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    auto *payload = new Event(std::move(ev));
    napi_status st = tsfn_.NonBlockingCall(payload, [](Napi::Env env, Napi::Function fn, Event *p) {
      std::unique_ptr<Event> owned(p);
      if (env == nullptr || fn.IsEmpty()) return;
      Napi::HandleScope scope(env);
      Napi::Object o = Napi::Object::New(env);
      o.Set("type", owned->type);
      if (owned->type == "state") o.Set("state", Napi::Number::New(env, (double)owned->state));
      if (owned->error.set) o.Set("error", ErrorInfoObject(env, owned->error));
      // An exception thrown by the listener must not escape into the event loop's thread-safe-function machinery.
      try {
        fn.Call({o});
      } catch (const Napi::Error &) {
      }
    });
    if (st != napi_ok) delete payload;
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    tsfn_.Release();
  }

 private:
  Napi::ThreadSafeFunction tsfn_;
  std::mutex mu_;
  bool closed_ = false;
};

// Installer progress (fractionCompleted, 0..1) to a JS callback; throttled to changes of ≥ 0.1 %.
class ProgressSink {
 public:
  ProgressSink(Napi::Env env, Napi::Function fn) { tsfn_ = Napi::ThreadSafeFunction::New(env, fn, "vz.install.progress", 0, 1); }

  void Emit(double fraction) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || (fraction - last_ < 0.001 && fraction < 1.0)) return;
    last_ = fraction;
    auto *payload = new double(fraction);
    napi_status st = tsfn_.NonBlockingCall(payload, [](Napi::Env env, Napi::Function fn, double *p) {
      std::unique_ptr<double> owned(p);
      if (env == nullptr || fn.IsEmpty()) return;
      Napi::HandleScope scope(env);
      try {
        fn.Call({Napi::Number::New(env, *owned)});
      } catch (const Napi::Error &) {
      }
    });
    if (st != napi_ok) delete payload;
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    tsfn_.Release();
  }

 private:
  Napi::ThreadSafeFunction tsfn_;
  std::mutex mu_;
  bool closed_ = false;
  double last_ = -1;
};

}  // namespace nbvz

// ------------------------------------------------------------------------------------------------ Objective-C helpers

// VM delegate + KVO observer of `state` (both called on the VM's queue) + owner of the screen window (main thread).
@interface NBVzMachineObserver : NSObject <VZVirtualMachineDelegate, NSWindowDelegate>
- (instancetype)initWithSink:(std::shared_ptr<nbvz::EventSink>)sink;
- (long)lastState;
- (void)setLastState:(long)state;
@property(nonatomic, strong, nullable) NSWindow *window;
@property(nonatomic, strong, nullable) VZVirtualMachineView *view;
@end

@implementation NBVzMachineObserver {
  std::shared_ptr<nbvz::EventSink> _sink;
  std::atomic<long> _state;
}

- (instancetype)initWithSink:(std::shared_ptr<nbvz::EventSink>)sink {
  self = [super init];
  if (self) {
    _sink = sink;
    _state.store(0);
  }
  return self;
}

- (long)lastState {
  return _state.load();
}

- (void)setLastState:(long)state {
  _state.store(state);
}

- (void)observeValueForKeyPath:(NSString *)keyPath
                      ofObject:(id)object
                        change:(NSDictionary<NSKeyValueChangeKey, id> *)change
                       context:(void *)context {
  if (![keyPath isEqualToString:@"state"] || ![object isKindOfClass:[VZVirtualMachine class]]) return;
  // KVO for `state` fires on the VM's queue, where reading the property is allowed.
  long s = (long)((VZVirtualMachine *)object).state;
  _state.store(s);
  nbvz::Event ev;
  ev.type = "state";
  ev.state = s;
  _sink->Emit(ev);
}

- (void)guestDidStopVirtualMachine:(VZVirtualMachine *)virtualMachine {
  nbvz::Event ev;
  ev.type = "guestDidStop";
  _sink->Emit(ev);
}

- (void)virtualMachine:(VZVirtualMachine *)virtualMachine didStopWithError:(NSError *)error {
  nbvz::Event ev;
  ev.type = "didStopWithError";
  ev.error = nbvz::FromNSError(error);
  _sink->Emit(ev);
}

- (void)virtualMachine:(VZVirtualMachine *)virtualMachine
                 networkDevice:(VZNetworkDevice *)networkDevice
    attachmentWasDisconnectedWithError:(NSError *)error {
  nbvz::Event ev;
  ev.type = "networkDisconnected";
  ev.error = nbvz::FromNSError(error);
  _sink->Emit(ev);
}

// Closing the window only detaches the view: the VM keeps running.
- (void)windowWillClose:(NSNotification *)notification {
  self.view.virtualMachine = nil;
  self.window.delegate = nil;
  self.view = nil;
  self.window = nil;
  nbvz::Event ev;
  ev.type = "windowClosed";
  _sink->Emit(ev);
}
@end

#if defined(__arm64__)
@interface NBVzProgressObserver : NSObject
- (instancetype)initWithSink:(std::shared_ptr<nbvz::ProgressSink>)sink;
@end

@implementation NBVzProgressObserver {
  std::shared_ptr<nbvz::ProgressSink> _sink;
}

- (instancetype)initWithSink:(std::shared_ptr<nbvz::ProgressSink>)sink {
  self = [super init];
  if (self) _sink = sink;
  return self;
}

- (void)observeValueForKeyPath:(NSString *)keyPath
                      ofObject:(id)object
                        change:(NSDictionary<NSKeyValueChangeKey, id> *)change
                       context:(void *)context {
  if ([keyPath isEqualToString:@"fractionCompleted"] && [object isKindOfClass:[NSProgress class]]) {
    _sink->Emit(((NSProgress *)object).fractionCompleted);
  }
}
@end

// The running installer, touched only on the VM's queue (install, cancel, completion).
@interface NBVzInstallState : NSObject
@property(nonatomic, strong, nullable) VZMacOSInstaller *installer;
@end

@implementation NBVzInstallState
@end
#endif

// ------------------------------------------------------------------------------------------------ VzMachine

namespace nbvz {

static NSString *const kStateKey = @"state";

class VzMachine : public Napi::ObjectWrap<VzMachine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "VzMachine",
                       {
                           InstanceMethod<&VzMachine::Start>("start"),
                           InstanceMethod<&VzMachine::Stop>("stop"),
                           InstanceMethod<&VzMachine::RequestStop>("requestStop"),
                           InstanceMethod<&VzMachine::Pause>("pause"),
                           InstanceMethod<&VzMachine::Resume>("resume"),
                           InstanceMethod<&VzMachine::SaveState>("saveState"),
                           InstanceMethod<&VzMachine::RestoreState>("restoreState"),
                           InstanceMethod<&VzMachine::Install>("install"),
                           InstanceMethod<&VzMachine::CancelInstall>("cancelInstall"),
                           InstanceMethod<&VzMachine::State>("state"),
                           InstanceMethod<&VzMachine::Capabilities>("capabilities"),
                           InstanceMethod<&VzMachine::ShowWindow>("showWindow"),
                           InstanceMethod<&VzMachine::CloseWindow>("closeWindow"),
                           InstanceMethod<&VzMachine::Dispose>("dispose"),
                       });
  }

  explicit VzMachine(const Napi::CallbackInfo &info) : Napi::ObjectWrap<VzMachine>(info) {}

  ~VzMachine() override { Teardown(); }

  // Called once by createMachine, on the JS thread, after the VM exists.
  void Attach(VZVirtualMachine *vm, dispatch_queue_t queue, bool mainQueue, NBVzMachineObserver *observer,
              std::shared_ptr<EventSink> sink, bool mac, bool recovery) {
    vm_ = vm;
    queue_ = queue;
    mainQueue_ = mainQueue;
    observer_ = observer;
    sink_ = std::move(sink);
    mac_ = mac;
    recovery_ = recovery;
  }

 private:
  VZVirtualMachine *Vm(Napi::Env env) {
    if (vm_ == nil) ThrowOwn(env, "INTERNAL", "this VM object was disposed");
    return vm_;
  }

  // Runs `op(vm, done)` on the VM queue; `done(error)` settles the returned promise. Exceptions become errors.
  Napi::Value Async(const Napi::CallbackInfo &info, const char *name,
                    void (^op)(VZVirtualMachine *vm, void (^done)(NSError *_Nullable))) {
    Napi::Env env = info.Env();
    VZVirtualMachine *vm = Vm(env);
    std::shared_ptr<Completion> c = Completion::Create(env, name);
    std::string what(name);
    dispatch_async(queue_, ^{
      @try {
        op(vm, ^(NSError *_Nullable e) {
          c->Settle(FromNSError(e));
        });
      } @catch (NSException *ex) {
        c->Settle(FromException(ex, what.c_str()));
      }
    });
    return c->Promise();
  }

  Napi::Value Start(const Napi::CallbackInfo &info) {
    bool mac = mac_;
    bool recovery = recovery_;
    (void)mac;  // used only on arm64 (macOS guests)
    Napi::Env env = info.Env();
    VZVirtualMachine *vm = Vm(env);
    std::shared_ptr<Completion> c = Completion::Create(env, "vz.start");
    dispatch_async(queue_, ^{
      @try {
        void (^done)(NSError *_Nullable) = ^(NSError *_Nullable e) {
          c->Settle(FromNSError(e));
        };
        if (@available(macOS 13.0, *)) {
#if defined(__arm64__)
          if (mac) {
            VZMacOSVirtualMachineStartOptions *options = [[VZMacOSVirtualMachineStartOptions alloc] init];
            options.startUpFromMacOSRecovery = recovery;
            [vm startWithOptions:options completionHandler:done];
            return;
          }
#endif
          [vm startWithCompletionHandler:done];
        } else {
          if (recovery) {
            c->Settle(Own("UNSUPPORTED", "booting into macOS Recovery needs macOS 13 or newer on the host"));
            return;
          }
          [vm startWithCompletionHandler:done];
        }
      } @catch (NSException *ex) {
        c->Settle(FromException(ex, "start"));
      }
    });
    return c->Promise();
  }

  Napi::Value Stop(const Napi::CallbackInfo &info) {
    return Async(info, "vz.stop", ^(VZVirtualMachine *vm, void (^done)(NSError *_Nullable)) {
      [vm stopWithCompletionHandler:done];
    });
  }

  Napi::Value RequestStop(const Napi::CallbackInfo &info) {
    return Async(info, "vz.requestStop", ^(VZVirtualMachine *vm, void (^done)(NSError *_Nullable)) {
      NSError *e = nil;
      BOOL ok = [vm requestStopWithError:&e];
      done(ok ? nil : e);
    });
  }

  Napi::Value Pause(const Napi::CallbackInfo &info) {
    return Async(info, "vz.pause", ^(VZVirtualMachine *vm, void (^done)(NSError *_Nullable)) {
      [vm pauseWithCompletionHandler:done];
    });
  }

  Napi::Value Resume(const Napi::CallbackInfo &info) {
    return Async(info, "vz.resume", ^(VZVirtualMachine *vm, void (^done)(NSError *_Nullable)) {
      [vm resumeWithCompletionHandler:done];
    });
  }

  static std::string PathArg(const Napi::CallbackInfo &info, size_t i, const char *what) {
    if (info.Length() <= i || !info[i].IsString()) ThrowOwn(info.Env(), "INVALID_ARGUMENT", std::string(what) + " must be a path string");
    std::string p = info[i].As<Napi::String>().Utf8Value();
    if (p.empty() || p[0] != '/') ThrowOwn(info.Env(), "INVALID_ARGUMENT", std::string(what) + " must be an absolute path");
    return p;
  }

  Napi::Value SaveState(const Napi::CallbackInfo &info) {
    NSURL *url = [NSURL fileURLWithPath:ToNS(PathArg(info, 0, "the save file"))];
#if defined(__arm64__)
    if (@available(macOS 14.0, *)) {
      return Async(info, "vz.saveState", ^(VZVirtualMachine *vm, void (^done)(NSError *_Nullable)) {
        [vm saveMachineStateToURL:url completionHandler:done];
      });
    }
#endif
    (void)url;
    ThrowOwn(info.Env(), "UNSUPPORTED", "saving a VM's state needs macOS 14 (Sonoma) or newer on a Mac with Apple silicon");
  }

  Napi::Value RestoreState(const Napi::CallbackInfo &info) {
    NSURL *url = [NSURL fileURLWithPath:ToNS(PathArg(info, 0, "the save file"))];
#if defined(__arm64__)
    if (@available(macOS 14.0, *)) {
      return Async(info, "vz.restoreState", ^(VZVirtualMachine *vm, void (^done)(NSError *_Nullable)) {
        [vm restoreMachineStateFromURL:url completionHandler:done];
      });
    }
#endif
    (void)url;
    ThrowOwn(info.Env(), "UNSUPPORTED", "restoring a VM's state needs macOS 14 (Sonoma) or newer on a Mac with Apple silicon");
  }

  Napi::Value Install(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string ipsw = PathArg(info, 0, "the restore image");
    if (info.Length() < 2 || !info[1].IsFunction()) ThrowOwn(env, "INVALID_ARGUMENT", "install(path, onProgress): onProgress must be a function");
    if (!mac_) ThrowOwn(env, "INVALID_ARGUMENT", "macOS can only be installed on a macOS VM");
#if defined(__arm64__)
    VZVirtualMachine *vm = Vm(env);
    NSURL *url = [NSURL fileURLWithPath:ToNS(ipsw)];
    std::shared_ptr<ProgressSink> progress = std::make_shared<ProgressSink>(env, info[1].As<Napi::Function>());
    std::shared_ptr<Completion> c = Completion::Create(env, "vz.install");
    if (installState_ == nil) installState_ = [[NBVzInstallState alloc] init];
    NBVzInstallState *state = installState_;
    dispatch_async(queue_, ^{
      @try {
        if (state.installer != nil) {
          progress->Close();
          c->Settle(Own("BUSY", "an installation is already running on this VM"));
          return;
        }
        // Must be created on the VM's queue (VZMacOSInstaller.h); the VM must be stopped. It starts the VM itself.
        VZMacOSInstaller *installer = [[VZMacOSInstaller alloc] initWithVirtualMachine:vm restoreImageURL:url];
        state.installer = installer;
        NBVzProgressObserver *observer = [[NBVzProgressObserver alloc] initWithSink:progress];
        [installer.progress addObserver:observer
                             forKeyPath:@"fractionCompleted"
                                options:NSKeyValueObservingOptionInitial | NSKeyValueObservingOptionNew
                                context:nullptr];
        // The completion block keeps `installer` and `observer` alive until installation ends (the framework
        // releases the block after calling it, which breaks the cycle).
        [installer installWithCompletionHandler:^(NSError *_Nullable e) {
          [installer.progress removeObserver:observer forKeyPath:@"fractionCompleted" context:nullptr];
          state.installer = nil;
          progress->Close();
          c->Settle(FromNSError(e));
        }];
      } @catch (NSException *ex) {
        state.installer = nil;
        progress->Close();
        c->Settle(FromException(ex, "install"));
      }
    });
    return c->Promise();
#else
    (void)ipsw;
    ThrowOwn(env, "UNSUPPORTED", "macOS guests need a Mac with Apple silicon");
#endif
  }

  // Cancels a running installation through its NSProgress (VZMacOSInstaller.h: stopping or pausing the VM during
  // installation is undefined behaviour). The install() promise then rejects (VZErrorOperationCancelled).
  Napi::Value CancelInstall(const Napi::CallbackInfo &info) {
#if defined(__arm64__)
    NBVzInstallState *state = installState_;
    if (state != nil && queue_ != nil) {
      dispatch_async(queue_, ^{
        // Runs after install() queued its block (same serial queue), so installation has started: cancelling the
        // progress before the start would raise an exception.
        [state.installer.progress cancel];
      });
    }
#endif
    return info.Env().Undefined();
  }

  Napi::Value State(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), observer_ != nil ? (double)[observer_ lastState] : 0.0);
  }

  Napi::Value Capabilities(const Napi::CallbackInfo &info) {
    VZVirtualMachine *vm = Vm(info.Env());
    __block BOOL canStart = NO, canPause = NO, canResume = NO, canRequestStop = NO, canStop = NO;
    RunOnQueueSync(queue_, ^{
      canStart = vm.canStart;
      canPause = vm.canPause;
      canResume = vm.canResume;
      canRequestStop = vm.canRequestStop;
      canStop = vm.canStop;
    });
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("canStart", (bool)canStart);
    o.Set("canPause", (bool)canPause);
    o.Set("canResume", (bool)canResume);
    o.Set("canRequestStop", (bool)canRequestStop);
    o.Set("canStop", (bool)canStop);
    return o;
  }

  Napi::Value ShowWindow(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    VZVirtualMachine *vm = Vm(env);
    if (!mainQueue_) {
      ThrowOwn(env, "UNSUPPORTED", "the screen can only be shown when the VM runs inside the Nestbox app (its main thread runs the Cocoa event loop)");
    }
    if (![NSThread isMainThread]) ThrowOwn(env, "INTERNAL", "showWindow must be called on the main thread");
    if (info.Length() < 1 || !info[0].IsObject()) ThrowOwn(env, "INVALID_ARGUMENT", "showWindow({title, width, height})");
    Napi::Object o = info[0].As<Napi::Object>();
    std::string title = o.Get("title").IsString() ? o.Get("title").As<Napi::String>().Utf8Value() : std::string("Nestbox");
    double w = o.Get("width").IsNumber() ? o.Get("width").As<Napi::Number>().DoubleValue() : 1024;
    double h = o.Get("height").IsNumber() ? o.Get("height").As<Napi::Number>().DoubleValue() : 768;
    if (!(w >= 200 && w <= 16384) || !(h >= 150 && h <= 16384)) ThrowOwn(env, "INVALID_ARGUMENT", "window size out of range");

    ErrInfo failure;
    @try {
      if (observer_.window != nil) {
        [observer_.window makeKeyAndOrderFront:nil];
      } else {
        NSRect rect = NSMakeRect(0, 0, w, h);
        NSWindow *window = [[NSWindow alloc] initWithContentRect:rect
                                                       styleMask:NSWindowStyleMaskTitled | NSWindowStyleMaskClosable |
                                                                 NSWindowStyleMaskMiniaturizable | NSWindowStyleMaskResizable
                                                         backing:NSBackingStoreBuffered
                                                           defer:NO];
        window.releasedWhenClosed = NO;  // ARC owns it (via the observer)
        window.title = ToNS(title);
        VZVirtualMachineView *view = [[VZVirtualMachineView alloc] initWithFrame:rect];
        view.virtualMachine = vm;  // allowed: the VM uses the main queue and we are on the main thread
        view.capturesSystemKeys = YES;
        if (@available(macOS 14.0, *)) {
          // Tart's default: the guest display follows the window for macOS guests, not for Linux.
          view.automaticallyReconfiguresDisplay = mac_;
        }
        window.contentView = view;
        window.delegate = observer_;
        observer_.window = window;
        observer_.view = view;
        [window center];
        [window makeKeyAndOrderFront:nil];
      }
      [NSApp activateIgnoringOtherApps:YES];
    } @catch (NSException *ex) {
      failure = FromException(ex, "showWindow");
    }
    if (failure.set) Throw(env, failure);
    return env.Undefined();
  }

  Napi::Value CloseWindow(const Napi::CallbackInfo &info) {
    if (observer_ != nil && observer_.window != nil && [NSThread isMainThread]) {
      [observer_.window close];  // windowWillClose: detaches the view; the VM keeps running
    }
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (vm_ != nil) {
      long s = observer_ != nil ? [observer_ lastState] : 0;
      if (s != (long)VZVirtualMachineStateStopped && s != (long)VZVirtualMachineStateError) {
        ThrowOwn(env, "BUSY", "the VM must be stopped before it is disposed");
      }
    }
    Teardown();
    return env.Undefined();
  }

  // Detaches observers and releases everything. Safe to call twice; never throws.
  void Teardown() {
    VZVirtualMachine *vm = vm_;
    NBVzMachineObserver *observer = observer_;
    if (vm != nil && observer != nil && queue_ != nil) {
      if ([NSThread isMainThread] && observer.window != nil) [observer.window close];
      RunOnQueueSync(queue_, ^{
        @try {
          [vm removeObserver:observer forKeyPath:kStateKey context:nullptr];
        } @catch (NSException *) {
        }
        vm.delegate = nil;
      });
    }
    if (sink_) sink_->Close();
    sink_.reset();
    vm_ = nil;
    observer_ = nil;
    queue_ = nil;
  }

  VZVirtualMachine *vm_ = nil;
  dispatch_queue_t queue_ = nil;
  bool mainQueue_ = false;
  NBVzMachineObserver *observer_ = nil;
  std::shared_ptr<EventSink> sink_;
  bool mac_ = false;
  bool recovery_ = false;
#if defined(__arm64__)
  NBVzInstallState *installState_ = nil;
#endif
};

// ------------------------------------------------------------------------------------------------ module functions

struct AddonData {
  Napi::FunctionReference machineCtor;
  std::atomic<unsigned> queueSerial{0};
};

static bool MainQueueServiced() { return [NSThread isMainThread] && NSApp != nil && [NSApp isRunning]; }

static std::string OsVersion() {
  NSOperatingSystemVersion v = [[NSProcessInfo processInfo] operatingSystemVersion];
  return std::to_string((long)v.majorVersion) + "." + std::to_string((long)v.minorVersion) + "." + std::to_string((long)v.patchVersion);
}

static Napi::Value HostInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("macosVersion", OsVersion());
  o.Set("supported", (bool)[VZVirtualMachine isSupported]);
  o.Set("minimumAllowedCPUCount", Napi::Number::New(env, (double)[VZVirtualMachineConfiguration minimumAllowedCPUCount]));
  o.Set("maximumAllowedCPUCount", Napi::Number::New(env, (double)[VZVirtualMachineConfiguration maximumAllowedCPUCount]));
  o.Set("minimumAllowedMemorySize", Napi::Number::New(env, (double)[VZVirtualMachineConfiguration minimumAllowedMemorySize]));
  o.Set("maximumAllowedMemorySize", Napi::Number::New(env, (double)[VZVirtualMachineConfiguration maximumAllowedMemorySize]));
  std::string rosetta = "notSupported";
#if defined(__arm64__)
  if (@available(macOS 13.0, *)) {
    switch ([VZLinuxRosettaDirectoryShare availability]) {
      case VZLinuxRosettaAvailabilityInstalled: rosetta = "installed"; break;
      case VZLinuxRosettaAvailabilityNotInstalled: rosetta = "notInstalled"; break;
      default: rosetta = "notSupported"; break;
    }
  }
#endif
  o.Set("rosetta", rosetta);
  o.Set("mainQueueServiced", MainQueueServiced());
  return o;
}

static std::string PathArg(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsString()) ThrowOwn(info.Env(), "INVALID_ARGUMENT", std::string(what) + " must be a path string");
  std::string p = info[i].As<Napi::String>().Utf8Value();
  if (p.empty() || p[0] != '/') ThrowOwn(info.Env(), "INVALID_ARGUMENT", std::string(what) + " must be an absolute path");
  return p;
}

static Napi::Value LoadRestoreImage(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = PathArg(info, 0, "the restore image");
#if defined(__arm64__)
  std::shared_ptr<Completion> c = Completion::Create(env, "vz.loadRestoreImage");
  NSURL *url = [NSURL fileURLWithPath:ToNS(path)];
  @try {
    // The completion handler runs on an arbitrary thread: copy everything into plain C++ there.
    [VZMacOSRestoreImage loadFileURL:url
                   completionHandler:^(VZMacOSRestoreImage *_Nullable image, NSError *_Nullable error) {
                     if (image == nil) {
                       ErrInfo e = FromNSError(error);
                       if (!e.set) e = Own("INVALID_ARGUMENT", "the restore image cannot be loaded");
                       c->Settle(e);
                       return;
                     }
                     std::string build = ToStd(image.buildVersion);
                     NSOperatingSystemVersion v = image.operatingSystemVersion;
                     std::string version = std::to_string((long)v.majorVersion) + "." + std::to_string((long)v.minorVersion) +
                                           (v.patchVersion != 0 ? "." + std::to_string((long)v.patchVersion) : std::string());
                     VZMacOSConfigurationRequirements *req = image.mostFeaturefulSupportedConfiguration;
                     bool hasReq = req != nil;
                     std::string hw = hasReq ? ToStd([req.hardwareModel.dataRepresentation base64EncodedStringWithOptions:0]) : std::string();
                     bool hwSupported = hasReq && req.hardwareModel.supported;
                     double cpus = hasReq ? (double)req.minimumSupportedCPUCount : 0;
                     double mem = hasReq ? (double)req.minimumSupportedMemorySize : 0;
                     c->Settle(ErrInfo(), [=](Napi::Env e) -> Napi::Value {
                       Napi::Object o = Napi::Object::New(e);
                       o.Set("buildVersion", build);
                       o.Set("productVersion", version);
                       if (hasReq) {
                         Napi::Object r = Napi::Object::New(e);
                         r.Set("hardwareModel", hw);
                         r.Set("hardwareModelSupported", hwSupported);
                         r.Set("minimumSupportedCPUCount", Napi::Number::New(e, cpus));
                         r.Set("minimumSupportedMemorySize", Napi::Number::New(e, mem));
                         o.Set("requirements", r);
                       }
                       return o;
                     });
                   }];
  } @catch (NSException *ex) {
    c->Settle(FromException(ex, "loadRestoreImage"));
  }
  return c->Promise();
#else
  (void)path;
  ThrowOwn(env, "UNSUPPORTED", "macOS guests need a Mac with Apple silicon");
#endif
}

static Napi::Value CreateMacAuxiliaryStorage(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = PathArg(info, 0, "the NVRAM file");
  if (info.Length() < 2 || !info[1].IsString()) ThrowOwn(env, "INVALID_ARGUMENT", "hardwareModel must be a base64 string");
#if defined(__arm64__)
  NSData *data = [[NSData alloc] initWithBase64EncodedString:ToNS(info[1].As<Napi::String>().Utf8Value()) options:0];
  VZMacHardwareModel *hw = data != nil ? [[VZMacHardwareModel alloc] initWithDataRepresentation:data] : nil;
  if (hw == nil) ThrowOwn(env, "INVALID_ARGUMENT", "hardwareModel is not a hardware model this macOS understands");
  NSError *e = nil;
  ErrInfo failure;
  @try {
    // No AllowOverwrite option: fails when the file exists (never clobbers a VM's NVRAM).
    VZMacAuxiliaryStorage *aux = [[VZMacAuxiliaryStorage alloc] initCreatingStorageAtURL:[NSURL fileURLWithPath:ToNS(path)]
                                                                            hardwareModel:hw
                                                                                  options:0
                                                                                    error:&e];
    if (aux == nil) failure = e != nil ? FromNSError(e) : Own("INTERNAL", "cannot create the NVRAM file");
  } @catch (NSException *ex) {
    failure = FromException(ex, "createMacAuxiliaryStorage");
  }
  if (failure.set) Throw(env, failure);
  return env.Undefined();
#else
  (void)path;
  ThrowOwn(env, "UNSUPPORTED", "macOS guests need a Mac with Apple silicon");
#endif
}

static Napi::Value NewMacMachineIdentifier(const Napi::CallbackInfo &info) {
#if defined(__arm64__)
  VZMacMachineIdentifier *mid = [[VZMacMachineIdentifier alloc] init];
  return Napi::String::New(info.Env(), ToStd([mid.dataRepresentation base64EncodedStringWithOptions:0]));
#else
  ThrowOwn(info.Env(), "UNSUPPORTED", "macOS guests need a Mac with Apple silicon");
#endif
}

static Napi::Value CreateEfiVariableStore(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = PathArg(info, 0, "the EFI variable store");
  if (@available(macOS 13.0, *)) {
    NSError *e = nil;
    ErrInfo failure;
    @try {
      VZEFIVariableStore *store = [[VZEFIVariableStore alloc] initCreatingVariableStoreAtURL:[NSURL fileURLWithPath:ToNS(path)]
                                                                                      options:0
                                                                                        error:&e];
      if (store == nil) failure = e != nil ? FromNSError(e) : Own("INTERNAL", "cannot create the EFI variable store");
    } @catch (NSException *ex) {
      failure = FromException(ex, "createEfiVariableStore");
    }
    if (failure.set) Throw(env, failure);
    return env.Undefined();
  }
  ThrowOwn(env, "UNSUPPORTED", "Linux VMs need macOS 13 (Ventura) or newer on the host");
}

static Napi::Value CreateMachine(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  AddonData *data = env.GetInstanceData<AddonData>();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsObject()) {
    ThrowOwn(env, "INVALID_ARGUMENT", "createMachine(spec, onEvent, {queue})");
  }
  MachineSpec spec = ParseSpec(info[0].As<Napi::Object>());
  Napi::Value q = info[2].As<Napi::Object>().Get("queue");
  std::string queueKind = q.IsString() ? q.As<Napi::String>().Utf8Value() : std::string("private");
  bool mainQueue = queueKind == "main";
  if (!mainQueue && queueKind != "private") ThrowOwn(env, "INVALID_ARGUMENT", "queue must be \"main\" or \"private\"");
  if (mainQueue && !MainQueueServiced()) {
    ThrowOwn(env, "UNSUPPORTED",
             "queue \"main\" needs a process whose main thread runs the Cocoa event loop (the Nestbox app); use \"private\" for headless runs");
  }

  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  ErrInfo err;
  VZVirtualMachineConfiguration *config = BuildConfiguration(spec, &err);
  if (config == nil) {
    deferred.Reject(ToJsError(env, err).Value());
    return deferred.Promise();
  }

  dispatch_queue_t queue = nil;
  if (mainQueue) {
    queue = dispatch_get_main_queue();
  } else {
    std::string label = "dev.nestbox.vz.machine." + std::to_string(data->queueSerial.fetch_add(1));
    queue = dispatch_queue_create(label.c_str(), DISPATCH_QUEUE_SERIAL);
  }

  auto sink = std::make_shared<EventSink>(env, info[1].As<Napi::Function>());
  NBVzMachineObserver *observer = [[NBVzMachineObserver alloc] initWithSink:sink];
  __block VZVirtualMachine *vm = nil;
  __block ErrInfo failure;
  RunOnQueueSync(queue, ^{
    @try {
      vm = [[VZVirtualMachine alloc] initWithConfiguration:config queue:queue];
      vm.delegate = observer;
      [observer setLastState:(long)vm.state];
      [vm addObserver:observer forKeyPath:kStateKey options:NSKeyValueObservingOptionNew context:nullptr];
    } @catch (NSException *ex) {
      failure = FromException(ex, "createMachine");
      vm = nil;
    }
  });
  if (vm == nil) {
    sink->Close();
    deferred.Reject(ToJsError(env, failure.set ? failure : Own("INTERNAL", "cannot create the VM")).Value());
    return deferred.Promise();
  }

  Napi::Object obj = data->machineCtor.New({});
  VzMachine *m = VzMachine::Unwrap(obj);
  m->Attach(vm, queue, mainQueue, observer, sink, spec.mac, spec.recovery);
  deferred.Resolve(obj);
  return deferred.Promise();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *data = new AddonData();
  data->machineCtor = Napi::Persistent(VzMachine::Define(env));
  env.SetInstanceData<AddonData>(data);
  exports.Set("hostInfo", Napi::Function::New(env, HostInfo));
  exports.Set("createMachine", Napi::Function::New(env, CreateMachine));
  exports.Set("loadRestoreImage", Napi::Function::New(env, LoadRestoreImage));
  exports.Set("createMacAuxiliaryStorage", Napi::Function::New(env, CreateMacAuxiliaryStorage));
  exports.Set("newMacMachineIdentifier", Napi::Function::New(env, NewMacMachineIdentifier));
  exports.Set("createEfiVariableStore", Napi::Function::New(env, CreateEfiVariableStore));
  exports.Set("platform", Napi::String::New(env, "darwin"));
  return exports;
}

}  // namespace nbvz

static Napi::Object InitNestboxVz(Napi::Env env, Napi::Object exports) { return nbvz::Init(env, exports); }

NODE_API_MODULE(nestbox_vz, InitNestboxVz)
