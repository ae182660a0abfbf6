// SHIM — not Apple's header. The subset of Virtualization.framework the Nestbox VZ addon uses, for the Linux
// `clang -fsyntax-only` check. Written from Apple's documentation (developer.apple.com/documentation/virtualization)
// and the public SDK headers' signatures. API_AVAILABLE(macos(NN)) names the first macOS version with the symbol.
// As in the real SDK, the Mac-guest classes, save/restore and Rosetta exist only for arm64 (`#if defined(__arm64__)`).
// Enum raw values are given for completeness; the addon uses them only by name. See ../README.md.
#pragma once

#import <AppKit/AppKit.h>
#import <Foundation/Foundation.h>

#pragma clang assume_nonnull begin  // NS_ASSUME_NONNULL_BEGIN, as in the SDK

@class VZVirtualMachine;
@class VZNetworkDevice;

// ------------------------------------------------------------------------------------------------ boot loaders

API_AVAILABLE(macos(11.0))
@interface VZBootLoader : NSObject <NSCopying>
@end

typedef NSUInteger VZEFIVariableStoreInitializationOptions API_AVAILABLE(macos(13.0));  // AllowOverwrite = 1 << 0

API_AVAILABLE(macos(13.0))
@interface VZEFIVariableStore : NSObject
- (instancetype)initWithURL:(NSURL *)URL API_AVAILABLE(macos(13.0));
- (nullable instancetype)initCreatingVariableStoreAtURL:(NSURL *)URL
                                                options:(VZEFIVariableStoreInitializationOptions)options
                                                  error:(NSError *_Nullable *_Nullable)error API_AVAILABLE(macos(13.0));
@end

API_AVAILABLE(macos(13.0))
@interface VZEFIBootLoader : VZBootLoader
@property(nullable, strong) VZEFIVariableStore *variableStore API_AVAILABLE(macos(13.0));
@end

// ------------------------------------------------------------------------------------------------ platforms

API_AVAILABLE(macos(12.0))
@interface VZPlatformConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(12.0))
@interface VZGenericPlatformConfiguration : VZPlatformConfiguration
@end

#if defined(__arm64__)
API_AVAILABLE(macos(12.0))
@interface VZMacOSBootLoader : VZBootLoader
@end

API_AVAILABLE(macos(12.0))
@interface VZMacHardwareModel : NSObject <NSCopying>
- (nullable instancetype)initWithDataRepresentation:(NSData *)dataRepresentation API_AVAILABLE(macos(12.0));
@property(readonly, copy) NSData *dataRepresentation API_AVAILABLE(macos(12.0));
@property(readonly, getter=isSupported) BOOL supported API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(12.0))
@interface VZMacMachineIdentifier : NSObject <NSCopying>
- (instancetype)init API_AVAILABLE(macos(12.0));  // a new, unique identifier
- (nullable instancetype)initWithDataRepresentation:(NSData *)dataRepresentation API_AVAILABLE(macos(12.0));
@property(readonly, copy) NSData *dataRepresentation API_AVAILABLE(macos(12.0));
@end

typedef NSUInteger VZMacAuxiliaryStorageInitializationOptions API_AVAILABLE(macos(12.0));  // AllowOverwrite = 1 << 0

API_AVAILABLE(macos(12.0))
@interface VZMacAuxiliaryStorage : NSObject
- (instancetype)initWithContentsOfURL:(NSURL *)URL API_AVAILABLE(macos(12.0));  // deprecated in macOS 15.4 (use -initWithURL:)
- (instancetype)initWithURL:(NSURL *)URL API_AVAILABLE(macos(13.0));
- (nullable instancetype)initCreatingStorageAtURL:(NSURL *)URL
                                    hardwareModel:(VZMacHardwareModel *)hardwareModel
                                          options:(VZMacAuxiliaryStorageInitializationOptions)options
                                            error:(NSError *_Nullable *_Nullable)error API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(12.0))
@interface VZMacPlatformConfiguration : VZPlatformConfiguration
@property(strong) VZMacHardwareModel *hardwareModel API_AVAILABLE(macos(12.0));
@property(copy) VZMacMachineIdentifier *machineIdentifier API_AVAILABLE(macos(12.0));
@property(nullable, strong) VZMacAuxiliaryStorage *auxiliaryStorage API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(12.0))
@interface VZMacOSConfigurationRequirements : NSObject
@property(readonly) VZMacHardwareModel *hardwareModel API_AVAILABLE(macos(12.0));
@property(readonly) NSUInteger minimumSupportedCPUCount API_AVAILABLE(macos(12.0));
@property(readonly) uint64_t minimumSupportedMemorySize API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(12.0))
@interface VZMacOSRestoreImage : NSObject
// The completion handler is invoked on an arbitrary thread.
+ (void)loadFileURL:(NSURL *)fileURL
    completionHandler:(void (^)(VZMacOSRestoreImage *_Nullable image, NSError *_Nullable error))completionHandler API_AVAILABLE(macos(12.0));
@property(readonly, copy) NSString *buildVersion API_AVAILABLE(macos(12.0));
@property(readonly) NSOperatingSystemVersion operatingSystemVersion API_AVAILABLE(macos(12.0));
@property(readonly, nullable) VZMacOSConfigurationRequirements *mostFeaturefulSupportedConfiguration API_AVAILABLE(macos(12.0));
@end
#endif  // __arm64__

// ------------------------------------------------------------------------------------------------ graphics

API_AVAILABLE(macos(12.0))
@interface VZGraphicsDeviceConfiguration : NSObject <NSCopying>
@end

#if defined(__arm64__)
API_AVAILABLE(macos(12.0))
@interface VZMacGraphicsDisplayConfiguration : NSObject <NSCopying>
- (instancetype)initWithWidthInPixels:(NSInteger)widthInPixels
                       heightInPixels:(NSInteger)heightInPixels
                        pixelsPerInch:(NSInteger)pixelsPerInch API_AVAILABLE(macos(12.0));
- (instancetype)initForScreen:(NSScreen *)screen sizeInPoints:(NSSize)sizeInPoints API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(12.0))
@interface VZMacGraphicsDeviceConfiguration : VZGraphicsDeviceConfiguration
@property(copy) NSArray<VZMacGraphicsDisplayConfiguration *> *displays API_AVAILABLE(macos(12.0));
@end
#endif

API_AVAILABLE(macos(13.0))
@interface VZVirtioGraphicsScanoutConfiguration : NSObject <NSCopying>
- (instancetype)initWithWidthInPixels:(NSInteger)widthInPixels heightInPixels:(NSInteger)heightInPixels API_AVAILABLE(macos(13.0));
@end

API_AVAILABLE(macos(13.0))
@interface VZVirtioGraphicsDeviceConfiguration : VZGraphicsDeviceConfiguration
@property(copy) NSArray<VZVirtioGraphicsScanoutConfiguration *> *scanouts API_AVAILABLE(macos(13.0));
@end

// ------------------------------------------------------------------------------------------------ input

API_AVAILABLE(macos(12.0))
@interface VZKeyboardConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(12.0))
@interface VZUSBKeyboardConfiguration : VZKeyboardConfiguration
@end

API_AVAILABLE(macos(12.0))
@interface VZPointingDeviceConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(12.0))
@interface VZUSBScreenCoordinatePointingDeviceConfiguration : VZPointingDeviceConfiguration
@end

#if defined(__arm64__)
API_AVAILABLE(macos(14.0))
@interface VZMacKeyboardConfiguration : VZKeyboardConfiguration
@end

API_AVAILABLE(macos(13.0))
@interface VZMacTrackpadConfiguration : VZPointingDeviceConfiguration
@end
#endif

// ------------------------------------------------------------------------------------------------ network

API_AVAILABLE(macos(11.0))
@interface VZMACAddress : NSObject <NSCopying>
- (nullable instancetype)initWithString:(NSString *)string API_AVAILABLE(macos(11.0));
@end

API_AVAILABLE(macos(11.0))
@interface VZNetworkDeviceAttachment : NSObject
@end

API_AVAILABLE(macos(11.0))
@interface VZNATNetworkDeviceAttachment : VZNetworkDeviceAttachment
@end

API_AVAILABLE(macos(11.0))
@interface VZNetworkDeviceConfiguration : NSObject <NSCopying>
@property(copy) VZMACAddress *MACAddress API_AVAILABLE(macos(11.0));
@property(nullable, strong) VZNetworkDeviceAttachment *attachment API_AVAILABLE(macos(11.0));
@end

API_AVAILABLE(macos(11.0))
@interface VZVirtioNetworkDeviceConfiguration : VZNetworkDeviceConfiguration
@end

API_AVAILABLE(macos(12.0))
@interface VZNetworkDevice : NSObject
@end

// ------------------------------------------------------------------------------------------------ storage

typedef NSInteger VZDiskImageCachingMode API_AVAILABLE(macos(12.0));
static const VZDiskImageCachingMode VZDiskImageCachingModeAutomatic = 0;
static const VZDiskImageCachingMode VZDiskImageCachingModeUncached = 1;
static const VZDiskImageCachingMode VZDiskImageCachingModeCached = 2;

typedef NSInteger VZDiskImageSynchronizationMode API_AVAILABLE(macos(12.0));
static const VZDiskImageSynchronizationMode VZDiskImageSynchronizationModeFull = 1;
static const VZDiskImageSynchronizationMode VZDiskImageSynchronizationModeFsync = 2;
static const VZDiskImageSynchronizationMode VZDiskImageSynchronizationModeNone = 3;

API_AVAILABLE(macos(11.0))
@interface VZStorageDeviceAttachment : NSObject
@end

API_AVAILABLE(macos(11.0))
@interface VZDiskImageStorageDeviceAttachment : VZStorageDeviceAttachment
- (nullable instancetype)initWithURL:(NSURL *)url
                            readOnly:(BOOL)readOnly
                         cachingMode:(VZDiskImageCachingMode)cachingMode
                 synchronizationMode:(VZDiskImageSynchronizationMode)synchronizationMode
                               error:(NSError *_Nullable *_Nullable)error API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(11.0))
@interface VZStorageDeviceConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(11.0))
@interface VZVirtioBlockDeviceConfiguration : VZStorageDeviceConfiguration
- (instancetype)initWithAttachment:(VZStorageDeviceAttachment *)attachment API_AVAILABLE(macos(11.0));
@end

// ------------------------------------------------------------------------------------------------ entropy, memory, audio

API_AVAILABLE(macos(11.0))
@interface VZEntropyDeviceConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(11.0))
@interface VZVirtioEntropyDeviceConfiguration : VZEntropyDeviceConfiguration
@end

API_AVAILABLE(macos(11.0))
@interface VZMemoryBalloonDeviceConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(11.0))
@interface VZVirtioTraditionalMemoryBalloonDeviceConfiguration : VZMemoryBalloonDeviceConfiguration
@end

API_AVAILABLE(macos(12.0))
@interface VZAudioOutputStreamSink : NSObject <NSCopying>
@end

API_AVAILABLE(macos(12.0))
@interface VZHostAudioOutputStreamSink : VZAudioOutputStreamSink
@end

API_AVAILABLE(macos(12.0))
@interface VZVirtioSoundDeviceStreamConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(12.0))
@interface VZVirtioSoundDeviceOutputStreamConfiguration : VZVirtioSoundDeviceStreamConfiguration
@property(nullable, strong) VZAudioOutputStreamSink *sink API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(12.0))
@interface VZAudioDeviceConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(12.0))
@interface VZVirtioSoundDeviceConfiguration : VZAudioDeviceConfiguration
@property(copy) NSArray<VZVirtioSoundDeviceStreamConfiguration *> *streams API_AVAILABLE(macos(12.0));
@end

// ------------------------------------------------------------------------------------------------ directory sharing

API_AVAILABLE(macos(12.0))
@interface VZSharedDirectory : NSObject
- (instancetype)initWithURL:(NSURL *)url readOnly:(BOOL)readOnly API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(12.0))
@interface VZDirectoryShare : NSObject
@end

API_AVAILABLE(macos(12.0))
@interface VZSingleDirectoryShare : VZDirectoryShare
- (instancetype)initWithDirectory:(VZSharedDirectory *)directory API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(12.0))
@interface VZMultipleDirectoryShare : VZDirectoryShare
- (instancetype)initWithDirectories:(NSDictionary<NSString *, VZSharedDirectory *> *)directories API_AVAILABLE(macos(12.0));
@end

#if defined(__arm64__)
typedef NSInteger VZLinuxRosettaAvailability API_AVAILABLE(macos(13.0));
static const VZLinuxRosettaAvailability VZLinuxRosettaAvailabilityNotSupported = 0;
static const VZLinuxRosettaAvailability VZLinuxRosettaAvailabilityNotInstalled = 1;
static const VZLinuxRosettaAvailability VZLinuxRosettaAvailabilityInstalled = 2;

API_AVAILABLE(macos(13.0))
@interface VZLinuxRosettaDirectoryShare : VZDirectoryShare
- (nullable instancetype)initWithError:(NSError *_Nullable *_Nullable)error API_AVAILABLE(macos(13.0));
@property(class, readonly) VZLinuxRosettaAvailability availability API_AVAILABLE(macos(13.0));
@end
#endif

API_AVAILABLE(macos(12.0))
@interface VZDirectorySharingDeviceConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(12.0))
@interface VZVirtioFileSystemDeviceConfiguration : VZDirectorySharingDeviceConfiguration
- (instancetype)initWithTag:(NSString *)tag API_AVAILABLE(macos(12.0));
+ (BOOL)validateTag:(NSString *)tag error:(NSError *_Nullable *_Nullable)error API_AVAILABLE(macos(12.0));
@property(copy) NSString *tag API_AVAILABLE(macos(12.0));
@property(nullable, strong) VZDirectoryShare *share API_AVAILABLE(macos(12.0));
@property(class, readonly, copy) NSString *macOSGuestAutomountTag API_AVAILABLE(macos(13.0));  // "com.apple.virtio-fs.automount"
@end

// ------------------------------------------------------------------------------------------------ serial console

API_AVAILABLE(macos(11.0))
@interface VZSerialPortAttachment : NSObject
@end

API_AVAILABLE(macos(11.0))
@interface VZFileHandleSerialPortAttachment : VZSerialPortAttachment
- (instancetype)initWithFileHandleForReading:(nullable NSFileHandle *)fileHandleForReading
                        fileHandleForWriting:(nullable NSFileHandle *)fileHandleForWriting API_AVAILABLE(macos(11.0));
@end

API_AVAILABLE(macos(11.0))
@interface VZSerialPortConfiguration : NSObject <NSCopying>
@property(nullable, strong) VZSerialPortAttachment *attachment API_AVAILABLE(macos(11.0));
@end

API_AVAILABLE(macos(11.0))
@interface VZVirtioConsoleDeviceSerialPortConfiguration : VZSerialPortConfiguration
@end

API_AVAILABLE(macos(13.0))
@interface VZSpiceAgentPortAttachment : VZSerialPortAttachment
- (instancetype)init API_AVAILABLE(macos(13.0));
@property BOOL sharesClipboard API_AVAILABLE(macos(13.0));
@property(class, readonly, copy) NSString *spiceAgentPortName API_AVAILABLE(macos(13.0));
@end

API_AVAILABLE(macos(13.0))
@interface VZConsolePortConfiguration : NSObject <NSCopying>
@property(nullable, strong) VZSerialPortAttachment *attachment API_AVAILABLE(macos(13.0));
@end

API_AVAILABLE(macos(13.0))
@interface VZVirtioConsolePortConfiguration : VZConsolePortConfiguration
- (instancetype)init API_AVAILABLE(macos(13.0));
@property(copy) NSString *name API_AVAILABLE(macos(13.0));
@property BOOL isConsole API_AVAILABLE(macos(13.0));
@end

API_AVAILABLE(macos(13.0))
@interface VZVirtioConsolePortConfigurationArray : NSObject <NSCopying>
@property uint32_t maximumPortCount API_AVAILABLE(macos(13.0));
- (nullable VZVirtioConsolePortConfiguration *)objectAtIndexedSubscript:(NSUInteger)portIndex API_AVAILABLE(macos(13.0));
- (void)setObject:(nullable VZVirtioConsolePortConfiguration *)configuration atIndexedSubscript:(NSUInteger)portIndex API_AVAILABLE(macos(13.0));
@end

API_AVAILABLE(macos(13.0))
@interface VZConsoleDeviceConfiguration : NSObject <NSCopying>
@end

API_AVAILABLE(macos(13.0))
@interface VZVirtioConsoleDeviceConfiguration : VZConsoleDeviceConfiguration
- (instancetype)init API_AVAILABLE(macos(13.0));
@property(readonly, copy) VZVirtioConsolePortConfigurationArray *ports API_AVAILABLE(macos(13.0));
@end

// ------------------------------------------------------------------------------------------------ configuration

API_AVAILABLE(macos(11.0))
@interface VZVirtualMachineConfiguration : NSObject <NSCopying>
@property(strong, nullable) VZBootLoader *bootLoader API_AVAILABLE(macos(11.0));
@property NSUInteger CPUCount API_AVAILABLE(macos(11.0));
@property uint64_t memorySize API_AVAILABLE(macos(11.0));
@property(strong) VZPlatformConfiguration *platform API_AVAILABLE(macos(12.0));
@property(copy) NSArray<VZGraphicsDeviceConfiguration *> *graphicsDevices API_AVAILABLE(macos(12.0));
@property(copy) NSArray<VZAudioDeviceConfiguration *> *audioDevices API_AVAILABLE(macos(12.0));
@property(copy) NSArray<VZKeyboardConfiguration *> *keyboards API_AVAILABLE(macos(12.0));
@property(copy) NSArray<VZPointingDeviceConfiguration *> *pointingDevices API_AVAILABLE(macos(12.0));
@property(copy) NSArray<VZNetworkDeviceConfiguration *> *networkDevices API_AVAILABLE(macos(11.0));
@property(copy) NSArray<VZStorageDeviceConfiguration *> *storageDevices API_AVAILABLE(macos(11.0));
@property(copy) NSArray<VZEntropyDeviceConfiguration *> *entropyDevices API_AVAILABLE(macos(11.0));
@property(copy) NSArray<VZMemoryBalloonDeviceConfiguration *> *memoryBalloonDevices API_AVAILABLE(macos(11.0));
@property(copy) NSArray<VZDirectorySharingDeviceConfiguration *> *directorySharingDevices API_AVAILABLE(macos(12.0));
@property(copy) NSArray<VZSerialPortConfiguration *> *serialPorts API_AVAILABLE(macos(11.0));
@property(copy) NSArray<VZConsoleDeviceConfiguration *> *consoleDevices API_AVAILABLE(macos(13.0));
@property(class, readonly) NSUInteger minimumAllowedCPUCount API_AVAILABLE(macos(11.0));
@property(class, readonly) NSUInteger maximumAllowedCPUCount API_AVAILABLE(macos(11.0));
@property(class, readonly) uint64_t minimumAllowedMemorySize API_AVAILABLE(macos(11.0));
@property(class, readonly) uint64_t maximumAllowedMemorySize API_AVAILABLE(macos(11.0));
- (BOOL)validateWithError:(NSError *_Nullable *_Nullable)error API_AVAILABLE(macos(11.0));
@end

// ------------------------------------------------------------------------------------------------ the machine

typedef NSInteger VZVirtualMachineState API_AVAILABLE(macos(11.0));
static const VZVirtualMachineState VZVirtualMachineStateStopped = 0;
static const VZVirtualMachineState VZVirtualMachineStateRunning = 1;
static const VZVirtualMachineState VZVirtualMachineStatePaused = 2;
static const VZVirtualMachineState VZVirtualMachineStateError = 3;
static const VZVirtualMachineState VZVirtualMachineStateStarting = 4;
static const VZVirtualMachineState VZVirtualMachineStatePausing = 5;
static const VZVirtualMachineState VZVirtualMachineStateResuming = 6;
static const VZVirtualMachineState VZVirtualMachineStateStopping = 7;   // macOS 12
static const VZVirtualMachineState VZVirtualMachineStateSaving = 8;     // macOS 14
static const VZVirtualMachineState VZVirtualMachineStateRestoring = 9;  // macOS 14

API_AVAILABLE(macos(11.0))
@protocol VZVirtualMachineDelegate <NSObject>
@optional
- (void)guestDidStopVirtualMachine:(VZVirtualMachine *)virtualMachine API_AVAILABLE(macos(11.0));
- (void)virtualMachine:(VZVirtualMachine *)virtualMachine didStopWithError:(NSError *)error API_AVAILABLE(macos(11.0));
- (void)virtualMachine:(VZVirtualMachine *)virtualMachine
                 networkDevice:(VZNetworkDevice *)networkDevice
    attachmentWasDisconnectedWithError:(NSError *)error API_AVAILABLE(macos(12.0));
@end

API_AVAILABLE(macos(13.0))
@interface VZVirtualMachineStartOptions : NSObject
@end

#if defined(__arm64__)
API_AVAILABLE(macos(13.0))
@interface VZMacOSVirtualMachineStartOptions : VZVirtualMachineStartOptions
@property BOOL startUpFromMacOSRecovery API_AVAILABLE(macos(13.0));
@end
#endif

API_AVAILABLE(macos(11.0))
@interface VZVirtualMachine : NSObject
// Every call, property access, callback and delegate method happens on `queue` (serial).
- (instancetype)initWithConfiguration:(VZVirtualMachineConfiguration *)configuration queue:(dispatch_queue_t)queue API_AVAILABLE(macos(11.0));
@property(class, readonly, getter=isSupported) BOOL supported API_AVAILABLE(macos(11.0));
@property(readonly) VZVirtualMachineState state API_AVAILABLE(macos(11.0));
@property(nullable, weak) id<VZVirtualMachineDelegate> delegate API_AVAILABLE(macos(11.0));
@property(readonly) BOOL canStart API_AVAILABLE(macos(11.0));
@property(readonly) BOOL canStop API_AVAILABLE(macos(12.0));
@property(readonly) BOOL canPause API_AVAILABLE(macos(11.0));
@property(readonly) BOOL canResume API_AVAILABLE(macos(11.0));
@property(readonly) BOOL canRequestStop API_AVAILABLE(macos(11.0));
- (void)startWithCompletionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler API_AVAILABLE(macos(11.0));
- (void)startWithOptions:(VZVirtualMachineStartOptions *)options
       completionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler API_AVAILABLE(macos(13.0));
- (void)stopWithCompletionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler API_AVAILABLE(macos(12.0));
- (void)pauseWithCompletionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler API_AVAILABLE(macos(11.0));
- (void)resumeWithCompletionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler API_AVAILABLE(macos(11.0));
- (BOOL)requestStopWithError:(NSError *_Nullable *_Nullable)error API_AVAILABLE(macos(11.0));
#if defined(__arm64__)
- (void)restoreMachineStateFromURL:(NSURL *)saveFileURL
                 completionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler API_AVAILABLE(macos(14.0));
- (void)saveMachineStateToURL:(NSURL *)saveFileURL
            completionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler API_AVAILABLE(macos(14.0));
#endif
@end

#if defined(__arm64__)
API_AVAILABLE(macos(12.0))
@interface VZMacOSInstaller : NSObject
// Must be created on the VM's queue; the completion handler runs on that queue.
- (instancetype)initWithVirtualMachine:(VZVirtualMachine *)virtualMachine restoreImageURL:(NSURL *)restoreImageFileURL API_AVAILABLE(macos(12.0));
- (void)installWithCompletionHandler:(void (^)(NSError *_Nullable error))completionHandler API_AVAILABLE(macos(12.0));
@property(readonly) NSProgress *progress API_AVAILABLE(macos(12.0));
@end
#endif

// ------------------------------------------------------------------------------------------------ the view

API_AVAILABLE(macos(12.0))
@interface VZVirtualMachineView : NSView
// The VM must use the main queue; the view is used on the main thread.
@property(nullable, strong) VZVirtualMachine *virtualMachine API_AVAILABLE(macos(12.0));
@property BOOL capturesSystemKeys API_AVAILABLE(macos(12.0));
@property BOOL automaticallyReconfiguresDisplay API_AVAILABLE(macos(14.0));
@end

#pragma clang assume_nonnull end
