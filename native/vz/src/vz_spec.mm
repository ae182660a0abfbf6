// Spec parsing (JS → C++) and configuration building (C++ → Virtualization.framework objects).
// Device choices mirror Tart's (see app/core/hypervisor/vz/spec.ts, which decides them).

#import <AppKit/AppKit.h>
#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>

#include "vz_spec.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace nbvz {
namespace {

[[noreturn]] void Bad(Napi::Env env, const std::string &what) { ThrowOwn(env, "INVALID_ARGUMENT", "invalid VM spec: " + what); }

Napi::Value Field(const Napi::Object &o, const char *key) { return o.Get(key); }

std::string Str(const Napi::Object &o, const char *key, const std::string &where) {
  Napi::Value v = Field(o, key);
  if (!v.IsString()) Bad(o.Env(), where + "." + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

bool Bool(const Napi::Object &o, const char *key, const std::string &where) {
  Napi::Value v = Field(o, key);
  if (!v.IsBoolean()) Bad(o.Env(), where + "." + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

double Num(const Napi::Object &o, const char *key, const std::string &where, double min, double max) {
  Napi::Value v = Field(o, key);
  if (!v.IsNumber()) Bad(o.Env(), where + "." + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != (double)(int64_t)d) Bad(o.Env(), where + "." + key + " is out of range");
  return d;
}

Napi::Object Obj(const Napi::Object &o, const char *key, const std::string &where) {
  Napi::Value v = Field(o, key);
  if (!v.IsObject() || v.IsArray()) Bad(o.Env(), where + "." + key + " must be an object");
  return v.As<Napi::Object>();
}

Napi::Array Arr(const Napi::Object &o, const char *key, const std::string &where) {
  Napi::Value v = Field(o, key);
  if (!v.IsArray()) Bad(o.Env(), where + "." + key + " must be an array");
  return v.As<Napi::Array>();
}

std::vector<std::string> Strings(const Napi::Object &o, const char *key, const std::string &where) {
  Napi::Array a = Arr(o, key, where);
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsString()) Bad(o.Env(), where + "." + key + " must hold strings");
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

DirSpec Dir(const Napi::Object &o, const std::string &where) {
  DirSpec d;
  d.path = Str(o, "path", where);
  d.readOnly = Bool(o, "readOnly", where);
  if (d.path.empty() || d.path[0] != '/') Bad(o.Env(), where + ".path must be absolute");
  return d;
}

NSURL *FileURL(const std::string &p) { return [NSURL fileURLWithPath:ToNS(p)]; }

[[maybe_unused]] NSData *Base64(const std::string &s) { return [[NSData alloc] initWithBase64EncodedString:ToNS(s) options:0]; }

}  // namespace

MachineSpec ParseSpec(const Napi::Object &o) {
  Napi::Env env = o.Env();
  MachineSpec s;
  s.cpuCount = (uint32_t)Num(o, "cpuCount", "spec", 1, 1024);
  s.memorySize = (uint64_t)Num(o, "memorySize", "spec", 1, 9007199254740991.0);

  Napi::Object p = Obj(o, "platform", "spec");
  std::string kind = Str(p, "kind", "spec.platform");
  if (kind == "mac") {
    s.mac = true;
    s.hardwareModel = Str(p, "hardwareModel", "spec.platform");
    s.machineIdentifier = Str(p, "machineIdentifier", "spec.platform");
    s.auxiliaryStorage = Str(p, "auxiliaryStorage", "spec.platform");
  } else if (kind == "linux") {
    s.efiVariableStore = Str(p, "efiVariableStore", "spec.platform");
  } else {
    Bad(env, "spec.platform.kind must be \"mac\" or \"linux\"");
  }

  Napi::Array disks = Arr(o, "disks", "spec");
  for (uint32_t i = 0; i < disks.Length(); i++) {
    Napi::Value v = disks.Get(i);
    if (!v.IsObject()) Bad(env, "spec.disks must hold objects");
    Napi::Object d = v.As<Napi::Object>();
    std::string where = "spec.disks[" + std::to_string(i) + "]";
    DiskSpec ds;
    ds.path = Str(d, "path", where);
    ds.readOnly = Bool(d, "readOnly", where);
    ds.caching = Str(d, "caching", where);
    ds.sync = Str(d, "sync", where);
    if (ds.caching != "automatic" && ds.caching != "cached" && ds.caching != "uncached") Bad(env, where + ".caching is unknown");
    if (ds.sync != "full" && ds.sync != "fsync" && ds.sync != "none") Bad(env, where + ".sync is unknown");
    s.disks.push_back(ds);
  }
  if (s.disks.empty()) Bad(env, "spec.disks must hold the root disk");

  Napi::Object net = Obj(o, "network", "spec");
  if (Str(net, "kind", "spec.network") != "nat") Bad(env, "spec.network.kind must be \"nat\"");
  s.macAddress = Str(net, "macAddress", "spec.network");

  Napi::Array shares = Arr(o, "shares", "spec");
  for (uint32_t i = 0; i < shares.Length(); i++) {
    Napi::Value v = shares.Get(i);
    if (!v.IsObject()) Bad(env, "spec.shares must hold objects");
    Napi::Object sh = v.As<Napi::Object>();
    std::string where = "spec.shares[" + std::to_string(i) + "]";
    ShareSpec ss;
    ss.tag = Str(sh, "tag", where);
    std::string k = Str(sh, "kind", where);
    if (k == "single") {
      ss.single = Dir(Obj(sh, "directory", where), where + ".directory");
    } else if (k == "multiple") {
      ss.multiple = true;
      Napi::Object dirs = Obj(sh, "directories", where);
      Napi::Array names = dirs.GetPropertyNames();
      for (uint32_t j = 0; j < names.Length(); j++) {
        std::string name = names.Get(j).As<Napi::String>().Utf8Value();
        Napi::Value dv = dirs.Get(name);
        if (!dv.IsObject()) Bad(env, where + ".directories." + name + " must be an object");
        ss.directories[name] = Dir(dv.As<Napi::Object>(), where + ".directories." + name);
      }
      if (ss.directories.empty()) Bad(env, where + ".directories is empty");
    } else {
      Bad(env, where + ".kind must be \"single\" or \"multiple\"");
    }
    s.shares.push_back(ss);
  }

  Napi::Object d = Obj(o, "display", "spec");
  s.displayKind = Str(d, "kind", "spec.display");
  s.displayWidth = (uint32_t)Num(d, "width", "spec.display", 1, 16384);
  s.displayHeight = (uint32_t)Num(d, "height", "spec.display", 1, 16384);
  if (s.displayKind == "mac") {
    std::string unit = Str(d, "unit", "spec.display");
    s.displayPoints = unit == "pt";
    if (!s.displayPoints) s.pixelsPerInch = (uint32_t)Num(d, "pixelsPerInch", "spec.display", 1, 1000);
  } else if (s.displayKind != "virtio") {
    Bad(env, "spec.display.kind must be \"mac\" or \"virtio\"");
  }
  if (s.mac != (s.displayKind == "mac")) Bad(env, "spec.display.kind does not match the platform");

  s.keyboards = Strings(o, "keyboards", "spec");
  s.pointingDevices = Strings(o, "pointingDevices", "spec");
  s.audio = Bool(o, "audio", "spec");
  s.entropy = Bool(o, "entropy", "spec");
  s.memoryBalloon = Bool(o, "memoryBalloon", "spec");
  s.clipboard = Bool(o, "clipboard", "spec");

  Napi::Value serial = Field(o, "serial");
  if (serial.IsObject()) {
    s.hasSerial = true;
    s.serialPath = Str(serial.As<Napi::Object>(), "outputPath", "spec.serial");
  } else if (!serial.IsUndefined() && !serial.IsNull()) {
    Bad(env, "spec.serial must be an object or undefined");
  }
  Napi::Value rosetta = Field(o, "rosetta");
  if (rosetta.IsObject()) {
    s.hasRosetta = true;
    s.rosettaTag = Str(rosetta.As<Napi::Object>(), "tag", "spec.rosetta");
  } else if (!rosetta.IsUndefined() && !rosetta.IsNull()) {
    Bad(env, "spec.rosetta must be an object or undefined");
  }
  s.recovery = Bool(Obj(o, "startOptions", "spec"), "recovery", "spec.startOptions");
  return s;
}

VZVirtualMachineConfiguration *BuildConfiguration(const MachineSpec &s, ErrInfo *err) {
  @try {
    VZVirtualMachineConfiguration *c = [[VZVirtualMachineConfiguration alloc] init];
    c.CPUCount = s.cpuCount;
    c.memorySize = s.memorySize;

    // ---- platform, boot loader, graphics
    if (s.mac) {
#if defined(__arm64__)
      NSData *hwData = Base64(s.hardwareModel);
      NSData *idData = Base64(s.machineIdentifier);
      if (hwData == nil || idData == nil) {
        *err = Own("BROKEN_VM", "config.json's hardwareModel or ecid is not valid base64");
        return nil;
      }
      VZMacHardwareModel *hw = [[VZMacHardwareModel alloc] initWithDataRepresentation:hwData];
      if (hw == nil) {
        *err = Own("BROKEN_VM", "config.json's hardwareModel is not a hardware model this macOS understands");
        return nil;
      }
      if (!hw.supported) {
        *err = Own("UNSUPPORTED", "this version of macOS cannot run the VM's hardware model; update macOS on this Mac");
        return nil;
      }
      VZMacMachineIdentifier *mid = [[VZMacMachineIdentifier alloc] initWithDataRepresentation:idData];
      if (mid == nil) {
        *err = Own("BROKEN_VM", "config.json's ecid is not a machine identifier");
        return nil;
      }
      VZMacAuxiliaryStorage *aux = nil;
      if (@available(macOS 13.0, *)) {
        aux = [[VZMacAuxiliaryStorage alloc] initWithURL:FileURL(s.auxiliaryStorage)];
      } else {
        aux = [[VZMacAuxiliaryStorage alloc] initWithContentsOfURL:FileURL(s.auxiliaryStorage)];
      }
      VZMacPlatformConfiguration *platform = [[VZMacPlatformConfiguration alloc] init];
      platform.hardwareModel = hw;
      platform.machineIdentifier = mid;
      platform.auxiliaryStorage = aux;
      c.platform = platform;
      c.bootLoader = [[VZMacOSBootLoader alloc] init];

      VZMacGraphicsDeviceConfiguration *g = [[VZMacGraphicsDeviceConfiguration alloc] init];
      NSScreen *screen = s.displayPoints ? [NSScreen mainScreen] : nil;
      VZMacGraphicsDisplayConfiguration *display = nil;
      if (screen != nil) {
        display = [[VZMacGraphicsDisplayConfiguration alloc] initForScreen:screen sizeInPoints:NSMakeSize(s.displayWidth, s.displayHeight)];
      } else {
        // Tart's fallback without a main screen (headless): pixels at 72 ppi.
        display = [[VZMacGraphicsDisplayConfiguration alloc] initWithWidthInPixels:s.displayWidth
                                                                    heightInPixels:s.displayHeight
                                                                     pixelsPerInch:s.displayPoints ? 72 : s.pixelsPerInch];
      }
      g.displays = @[ display ];
      c.graphicsDevices = @[ g ];
#else
      *err = Own("UNSUPPORTED", "macOS guests need a Mac with Apple silicon");
      return nil;
#endif
    } else {
      if (@available(macOS 13.0, *)) {
        VZEFIBootLoader *boot = [[VZEFIBootLoader alloc] init];
        boot.variableStore = [[VZEFIVariableStore alloc] initWithURL:FileURL(s.efiVariableStore)];
        c.bootLoader = boot;
        c.platform = [[VZGenericPlatformConfiguration alloc] init];
        VZVirtioGraphicsDeviceConfiguration *g = [[VZVirtioGraphicsDeviceConfiguration alloc] init];
        g.scanouts = @[ [[VZVirtioGraphicsScanoutConfiguration alloc] initWithWidthInPixels:s.displayWidth heightInPixels:s.displayHeight] ];
        c.graphicsDevices = @[ g ];
      } else {
        *err = Own("UNSUPPORTED", "Linux VMs need macOS 13 (Ventura) or newer on the host");
        return nil;
      }
    }

    // ---- keyboards and pointing devices
    NSMutableArray<VZKeyboardConfiguration *> *keyboards = [NSMutableArray array];
    for (const std::string &k : s.keyboards) {
      if (k == "usb") {
        [keyboards addObject:[[VZUSBKeyboardConfiguration alloc] init]];
      } else if (k == "mac") {
#if defined(__arm64__)
        if (@available(macOS 14.0, *)) {
          [keyboards addObject:[[VZMacKeyboardConfiguration alloc] init]];
        } else {
          [keyboards addObject:[[VZUSBKeyboardConfiguration alloc] init]];
        }
#endif
      }
    }
    c.keyboards = keyboards;
    NSMutableArray<VZPointingDeviceConfiguration *> *pointers = [NSMutableArray array];
    for (const std::string &p : s.pointingDevices) {
      if (p == "usb-screen") {
        [pointers addObject:[[VZUSBScreenCoordinatePointingDeviceConfiguration alloc] init]];
      } else if (p == "mac-trackpad") {
#if defined(__arm64__)
        if (@available(macOS 13.0, *)) {
          [pointers addObject:[[VZMacTrackpadConfiguration alloc] init]];
        }
#endif
      }
    }
    c.pointingDevices = pointers;

    // ---- network: NAT with the VM's MAC
    VZMACAddress *mac = [[VZMACAddress alloc] initWithString:ToNS(s.macAddress)];
    if (mac == nil) {
      *err = Own("INVALID_ARGUMENT", "the MAC address " + s.macAddress + " is not valid");
      return nil;
    }
    VZVirtioNetworkDeviceConfiguration *nic = [[VZVirtioNetworkDeviceConfiguration alloc] init];
    nic.attachment = [[VZNATNetworkDeviceAttachment alloc] init];
    nic.MACAddress = mac;
    c.networkDevices = @[ nic ];

    // ---- storage
    NSMutableArray<VZStorageDeviceConfiguration *> *storage = [NSMutableArray array];
    for (const DiskSpec &d : s.disks) {
      VZDiskImageCachingMode caching = d.caching == "cached"     ? VZDiskImageCachingModeCached
                                       : d.caching == "uncached" ? VZDiskImageCachingModeUncached
                                                                 : VZDiskImageCachingModeAutomatic;
      VZDiskImageSynchronizationMode sync = d.sync == "fsync"  ? VZDiskImageSynchronizationModeFsync
                                            : d.sync == "none" ? VZDiskImageSynchronizationModeNone
                                                               : VZDiskImageSynchronizationModeFull;
      NSError *e = nil;
      VZDiskImageStorageDeviceAttachment *a = [[VZDiskImageStorageDeviceAttachment alloc] initWithURL:FileURL(d.path)
                                                                                              readOnly:d.readOnly
                                                                                           cachingMode:caching
                                                                                   synchronizationMode:sync
                                                                                                 error:&e];
      if (a == nil) {
        *err = FromNSError(e);
        if (!err->set) *err = Own("BROKEN_VM", "cannot attach " + d.path);
        err->message = d.path + ": " + err->message;
        return nil;
      }
      [storage addObject:[[VZVirtioBlockDeviceConfiguration alloc] initWithAttachment:a]];
    }
    c.storageDevices = storage;

    // ---- entropy, memory balloon, audio (output only: no microphone prompt)
    if (s.entropy) c.entropyDevices = @[ [[VZVirtioEntropyDeviceConfiguration alloc] init] ];
    if (s.memoryBalloon) c.memoryBalloonDevices = @[ [[VZVirtioTraditionalMemoryBalloonDeviceConfiguration alloc] init] ];
    if (s.audio) {
      VZVirtioSoundDeviceConfiguration *sound = [[VZVirtioSoundDeviceConfiguration alloc] init];
      VZVirtioSoundDeviceOutputStreamConfiguration *out = [[VZVirtioSoundDeviceOutputStreamConfiguration alloc] init];
      out.sink = [[VZHostAudioOutputStreamSink alloc] init];
      sound.streams = @[ out ];
      c.audioDevices = @[ sound ];
    }

    // ---- virtio-fs shares (+ Rosetta)
    NSMutableArray<VZDirectorySharingDeviceConfiguration *> *fsDevices = [NSMutableArray array];
    for (const ShareSpec &sh : s.shares) {
      NSError *e = nil;
      if (![VZVirtioFileSystemDeviceConfiguration validateTag:ToNS(sh.tag) error:&e]) {
        *err = FromNSError(e);
        if (!err->set) *err = Own("INVALID_ARGUMENT", "the share tag " + sh.tag + " is not valid");
        return nil;
      }
      VZVirtioFileSystemDeviceConfiguration *fs = [[VZVirtioFileSystemDeviceConfiguration alloc] initWithTag:ToNS(sh.tag)];
      if (sh.multiple) {
        NSMutableDictionary<NSString *, VZSharedDirectory *> *dirs = [NSMutableDictionary dictionary];
        for (const auto &kv : sh.directories) {
          dirs[ToNS(kv.first)] = [[VZSharedDirectory alloc] initWithURL:FileURL(kv.second.path) readOnly:kv.second.readOnly];
        }
        fs.share = [[VZMultipleDirectoryShare alloc] initWithDirectories:dirs];
      } else {
        VZSharedDirectory *dir = [[VZSharedDirectory alloc] initWithURL:FileURL(sh.single.path) readOnly:sh.single.readOnly];
        fs.share = [[VZSingleDirectoryShare alloc] initWithDirectory:dir];
      }
      [fsDevices addObject:fs];
    }
    if (s.hasRosetta) {
#if defined(__arm64__)
      if (@available(macOS 13.0, *)) {
        NSError *e = nil;
        VZLinuxRosettaDirectoryShare *rosetta = [[VZLinuxRosettaDirectoryShare alloc] initWithError:&e];
        if (rosetta == nil) {
          *err = FromNSError(e);
          if (!err->set) *err = Own("UNSUPPORTED", "Rosetta for Linux is not available");
          return nil;
        }
        VZVirtioFileSystemDeviceConfiguration *fs = [[VZVirtioFileSystemDeviceConfiguration alloc] initWithTag:ToNS(s.rosettaTag)];
        fs.share = rosetta;
        [fsDevices addObject:fs];
      } else {
        *err = Own("UNSUPPORTED", "Rosetta for Linux needs macOS 13 or newer");
        return nil;
      }
#else
      *err = Own("UNSUPPORTED", "Rosetta for Linux needs Apple silicon");
      return nil;
#endif
    }
    c.directorySharingDevices = fsDevices;

    // ---- virtio console → log file (Linux guests)
    if (s.hasSerial) {
      int fd = open(s.serialPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) {
        NSError *e = [NSError errorWithDomain:NSPOSIXErrorDomain code:errno userInfo:nil];
        *err = FromNSError(e);
        err->message = s.serialPath + ": " + err->message;
        return nil;
      }
      NSFileHandle *writing = [[NSFileHandle alloc] initWithFileDescriptor:fd closeOnDealloc:YES];
      // No input handle (nil is allowed): the console is an output log; an interactive console is not wired yet.
      VZFileHandleSerialPortAttachment *att = [[VZFileHandleSerialPortAttachment alloc] initWithFileHandleForReading:nil
                                                                                           fileHandleForWriting:writing];
      VZVirtioConsoleDeviceSerialPortConfiguration *port = [[VZVirtioConsoleDeviceSerialPortConfiguration alloc] init];
      port.attachment = att;
      c.serialPorts = @[ port ];
    }

    // ---- clipboard: a SPICE agent port on a virtio console device (as Tart does). The guest's spice-vdagent or
    // tart-guest-agent finds it by its name; the framework itself serves the clipboard. macOS 13+.
    if (s.clipboard) {
      if (@available(macOS 13.0, *)) {
        VZSpiceAgentPortAttachment *spice = [[VZSpiceAgentPortAttachment alloc] init];
        spice.sharesClipboard = YES;
        VZVirtioConsolePortConfiguration *port = [[VZVirtioConsolePortConfiguration alloc] init];
        port.name = VZSpiceAgentPortAttachment.spiceAgentPortName;
        port.attachment = spice;
        VZVirtioConsoleDeviceConfiguration *console = [[VZVirtioConsoleDeviceConfiguration alloc] init];
        console.ports[0] = port;
        c.consoleDevices = @[ console ];
      } else {
        *err = Own("UNSUPPORTED", "Sharing the clipboard needs macOS 13 or newer");
        return nil;
      }
    }

    NSError *e = nil;
    if (![c validateWithError:&e]) {
      *err = FromNSError(e);
      if (!err->set) *err = Own("INVALID_ARGUMENT", "the configuration is not valid");
      return nil;
    }
    return c;
  } @catch (NSException *ex) {
    *err = FromException(ex, "building the VM configuration");
    return nil;
  }
}

}  // namespace nbvz
