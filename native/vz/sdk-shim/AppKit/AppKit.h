// SHIM — not Apple's header. The subset of AppKit the Nestbox VZ addon uses (its VM window), for the Linux
// `clang -fsyntax-only` check. Signatures follow Apple's documentation. See ../README.md.
#pragma once

#import <Foundation/Foundation.h>

#pragma clang assume_nonnull begin  // NS_ASSUME_NONNULL_BEGIN, as in the SDK

typedef struct {
  CGFloat width;
  CGFloat height;
} NSSize;
typedef struct {
  CGFloat x;
  CGFloat y;
} NSPoint;
typedef struct {
  NSPoint origin;
  NSSize size;
} NSRect;
static inline NSRect NSMakeRect(CGFloat x, CGFloat y, CGFloat w, CGFloat h) { return NSRect{{x, y}, {w, h}}; }
static inline NSSize NSMakeSize(CGFloat w, CGFloat h) { return NSSize{w, h}; }

API_AVAILABLE(macos(10.0))
@interface NSResponder : NSObject
@end

API_AVAILABLE(macos(10.0))
@interface NSView : NSResponder
- (instancetype)initWithFrame:(NSRect)frameRect;
@end

API_AVAILABLE(macos(10.0))
@interface NSScreen : NSObject
@property(class, readonly, nullable, strong) NSScreen *mainScreen;
@end

typedef NSUInteger NSWindowStyleMask;
static const NSWindowStyleMask NSWindowStyleMaskTitled = 1 << 0;         // macOS 10.12 name
static const NSWindowStyleMask NSWindowStyleMaskClosable = 1 << 1;       // macOS 10.12 name
static const NSWindowStyleMask NSWindowStyleMaskMiniaturizable = 1 << 2; // macOS 10.12 name
static const NSWindowStyleMask NSWindowStyleMaskResizable = 1 << 3;      // macOS 10.12 name
typedef NSUInteger NSBackingStoreType;
static const NSBackingStoreType NSBackingStoreBuffered = 2;

@class NSWindow;

@protocol NSWindowDelegate <NSObject>
@optional
- (void)windowWillClose:(NSNotification *)notification API_AVAILABLE(macos(10.0));
@end

API_AVAILABLE(macos(10.0))
@interface NSWindow : NSResponder
- (instancetype)initWithContentRect:(NSRect)contentRect
                          styleMask:(NSWindowStyleMask)style
                            backing:(NSBackingStoreType)backingStoreType
                              defer:(BOOL)flag;
@property(getter=isReleasedWhenClosed) BOOL releasedWhenClosed;
@property(copy) NSString *title;
@property(strong, nullable) __kindof NSView *contentView;
@property(weak, nullable) id<NSWindowDelegate> delegate;
- (void)center;
- (void)makeKeyAndOrderFront:(nullable id)sender;
- (void)close;
@end

API_AVAILABLE(macos(10.0))
@interface NSApplication : NSResponder
@property(getter=isRunning, readonly) BOOL running;
- (void)activateIgnoringOtherApps:(BOOL)flag;  // deprecated in macOS 14 in favour of -activate; still available
@end

extern "C" __kindof NSApplication *_Null_unspecified NSApp API_AVAILABLE(macos(10.0));

#pragma clang assume_nonnull end
