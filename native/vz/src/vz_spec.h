// The machine spec as plain C++ (parsed from the JS object on the JS thread, before any framework call), and the
// configuration builder. Field meanings: native/vz/index.d.ts `VzMachineSpec`.
#pragma once

#import <Virtualization/Virtualization.h>

#include "vz_common.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nbvz {

struct DiskSpec {
  std::string path;
  bool readOnly = false;
  std::string caching;  // automatic | cached | uncached
  std::string sync;     // full | fsync | none
};

struct DirSpec {
  std::string path;
  bool readOnly = false;
};

struct ShareSpec {
  std::string tag;
  bool multiple = false;
  DirSpec single;
  std::map<std::string, DirSpec> directories;
};

struct MachineSpec {
  uint32_t cpuCount = 0;
  uint64_t memorySize = 0;
  bool mac = false;
  std::string hardwareModel;      // base64
  std::string machineIdentifier;  // base64
  std::string auxiliaryStorage;   // path
  std::string efiVariableStore;   // path
  std::vector<DiskSpec> disks;
  std::string macAddress;
  std::vector<ShareSpec> shares;
  std::string displayKind;  // mac | virtio
  uint32_t displayWidth = 0;
  uint32_t displayHeight = 0;
  bool displayPoints = false;
  uint32_t pixelsPerInch = 72;
  std::vector<std::string> keyboards;
  std::vector<std::string> pointingDevices;
  bool audio = false;
  bool entropy = false;
  bool memoryBalloon = false;
  bool clipboard = false;
  bool hasSerial = false;
  std::string serialPath;
  bool hasRosetta = false;
  std::string rosettaTag;
  bool recovery = false;
};

// Parses and checks the JS spec. Throws a JS error (domain "nestbox", INVALID_ARGUMENT) naming the bad field.
MachineSpec ParseSpec(const Napi::Object &spec);

// Builds and validates the framework configuration. Returns nil and fills *err on failure. Never throws.
VZVirtualMachineConfiguration *BuildConfiguration(const MachineSpec &spec, ErrInfo *err);

}  // namespace nbvz
