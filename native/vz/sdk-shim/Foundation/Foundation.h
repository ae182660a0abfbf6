// SHIM — not Apple's header. The subset of Foundation (+ libdispatch, objc runtime basics) the Nestbox VZ addon
// uses, for the Linux `clang -fsyntax-only` check. Signatures follow Apple's documentation. See ../README.md.
#pragma once

#include <stddef.h>
#include <stdint.h>

#pragma clang assume_nonnull begin  // NS_ASSUME_NONNULL_BEGIN, as in the SDK

#define API_AVAILABLE(...)  // documentation only in the shim; the real SDK enforces availability
#define NS_SWIFT_NAME(x)

typedef signed char BOOL;
#define YES ((BOOL)1)
#define NO ((BOOL)0)
typedef long NSInteger;
typedef unsigned long NSUInteger;
typedef double CGFloat;
typedef struct objc_class *Class;
typedef struct objc_selector *SEL;
typedef struct objc_object *id;
#ifndef nil
#define nil nullptr
#endif

@class NSString, NSDictionary, NSArray;

@protocol NSObject
- (BOOL)isKindOfClass:(Class)aClass;
@end

@protocol NSCopying
@end

__attribute__((objc_root_class))
@interface NSObject <NSObject> {
  Class isa;
}
+ (instancetype)alloc API_AVAILABLE(macos(10.0));
+ (instancetype)new API_AVAILABLE(macos(10.0));
+ (Class)class API_AVAILABLE(macos(10.0));
- (instancetype)init API_AVAILABLE(macos(10.0));
@end

// ---- libdispatch (dispatch objects are Objective-C objects under ARC, as in the SDK with OS_OBJECT_USE_OBJC)
@protocol OS_dispatch_queue <NSObject>
@end
typedef NSObject<OS_dispatch_queue> *dispatch_queue_t;
@protocol OS_dispatch_queue_attr <NSObject>
@end
typedef NSObject<OS_dispatch_queue_attr> *dispatch_queue_attr_t;
typedef void (^dispatch_block_t)(void);
#define DISPATCH_QUEUE_SERIAL nullptr
extern "C" {
dispatch_queue_t dispatch_get_main_queue(void) API_AVAILABLE(macos(10.6));
dispatch_queue_t dispatch_queue_create(const char *_Nullable label, dispatch_queue_attr_t _Nullable attr) API_AVAILABLE(macos(10.6));
void dispatch_async(dispatch_queue_t queue, dispatch_block_t block) API_AVAILABLE(macos(10.6));
void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block) API_AVAILABLE(macos(10.6));
}

// ---- strings, data, URLs
typedef NSUInteger NSStringEncoding;
static const NSStringEncoding NSUTF8StringEncoding = 4;

API_AVAILABLE(macos(10.0))
@interface NSString : NSObject <NSCopying>
- (nullable instancetype)initWithBytes:(const void *)bytes length:(NSUInteger)len encoding:(NSStringEncoding)encoding;
@property(readonly) const char *UTF8String;
- (BOOL)isEqualToString:(NSString *)aString;
@end

typedef NSUInteger NSDataBase64DecodingOptions;
typedef NSUInteger NSDataBase64EncodingOptions;

API_AVAILABLE(macos(10.0))
@interface NSData : NSObject <NSCopying>
- (nullable instancetype)initWithBase64EncodedString:(NSString *)base64String options:(NSDataBase64DecodingOptions)options API_AVAILABLE(macos(10.9));
- (NSString *)base64EncodedStringWithOptions:(NSDataBase64EncodingOptions)options API_AVAILABLE(macos(10.9));
@end

API_AVAILABLE(macos(10.0))
@interface NSURL : NSObject <NSCopying>
+ (NSURL *)fileURLWithPath:(NSString *)path;
@end

// ---- collections (literals and subscripting need these)
API_AVAILABLE(macos(10.0))
@interface NSArray<ObjectType> : NSObject <NSCopying>
+ (instancetype)arrayWithObjects:(const ObjectType _Nonnull[_Nonnull])objects count:(NSUInteger)cnt;
@end

API_AVAILABLE(macos(10.0))
@interface NSMutableArray<ObjectType> : NSArray<ObjectType>
+ (instancetype)array;
- (void)addObject:(ObjectType)anObject;
@end

API_AVAILABLE(macos(10.0))
@interface NSDictionary<KeyType, ObjectType> : NSObject <NSCopying>
@end

API_AVAILABLE(macos(10.0))
@interface NSMutableDictionary<KeyType, ObjectType> : NSDictionary<KeyType, ObjectType>
+ (instancetype)dictionary;
- (void)setObject:(ObjectType)obj forKeyedSubscript:(KeyType)key API_AVAILABLE(macos(10.8));
@end

// ---- errors and exceptions
typedef NSString *NSErrorDomain;
extern "C" NSErrorDomain const NSPOSIXErrorDomain API_AVAILABLE(macos(10.0));

API_AVAILABLE(macos(10.0))
@interface NSError : NSObject <NSCopying>
+ (instancetype)errorWithDomain:(NSErrorDomain)domain code:(NSInteger)code userInfo:(nullable NSDictionary *)dict;
@property(readonly, copy) NSErrorDomain domain;
@property(readonly) NSInteger code;
@property(readonly, copy) NSString *localizedDescription;
@property(nullable, readonly, copy) NSString *localizedFailureReason;
@end

API_AVAILABLE(macos(10.0))
@interface NSException : NSObject <NSCopying>
@property(readonly, copy) NSString *name;
@property(nullable, readonly, copy) NSString *reason;
@end

// ---- key-value observing
typedef NSString *NSKeyValueChangeKey;
typedef NSUInteger NSKeyValueObservingOptions;
static const NSKeyValueObservingOptions NSKeyValueObservingOptionNew = 0x01;
static const NSKeyValueObservingOptions NSKeyValueObservingOptionInitial = 0x04;

@interface NSObject (NSKeyValueObserving)
- (void)observeValueForKeyPath:(nullable NSString *)keyPath
                      ofObject:(nullable id)object
                        change:(nullable NSDictionary<NSKeyValueChangeKey, id> *)change
                       context:(nullable void *)context API_AVAILABLE(macos(10.0));
- (void)addObserver:(NSObject *)observer
         forKeyPath:(NSString *)keyPath
            options:(NSKeyValueObservingOptions)options
            context:(nullable void *)context API_AVAILABLE(macos(10.0));
- (void)removeObserver:(NSObject *)observer forKeyPath:(NSString *)keyPath context:(nullable void *)context API_AVAILABLE(macos(10.7));
@end

// ---- progress, threads, process, files, notifications
API_AVAILABLE(macos(10.9))
@interface NSProgress : NSObject
@property(readonly) double fractionCompleted API_AVAILABLE(macos(10.9));
- (void)cancel API_AVAILABLE(macos(10.9));
@end

API_AVAILABLE(macos(10.0))
@interface NSThread : NSObject
@property(class, readonly) BOOL isMainThread API_AVAILABLE(macos(10.5));
@end

typedef struct {
  NSInteger majorVersion;
  NSInteger minorVersion;
  NSInteger patchVersion;
} NSOperatingSystemVersion;

API_AVAILABLE(macos(10.0))
@interface NSProcessInfo : NSObject
@property(class, readonly, strong) NSProcessInfo *processInfo;
@property(readonly) NSOperatingSystemVersion operatingSystemVersion API_AVAILABLE(macos(10.10));
@end

API_AVAILABLE(macos(10.0))
@interface NSFileHandle : NSObject
- (instancetype)initWithFileDescriptor:(int)fd closeOnDealloc:(BOOL)closeopt;
@end

API_AVAILABLE(macos(10.0))
@interface NSNotification : NSObject <NSCopying>
@property(nullable, readonly, retain) id object;
@end

#pragma clang assume_nonnull end
