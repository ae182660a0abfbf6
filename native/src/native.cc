// Nestbox native helpers (node-addon-api).
//
// Tart interoperability needs things Node has no API for:
//  - POSIX fcntl record locks on config.json (Tart's "PIDLock": running == someone holds a write lock),
//  - BSD flock on $TART_HOME and temp dirs,
//  - copy-on-write clones (FICLONE / clonefile) and sparse-aware copies (SEEK_DATA / SEEK_HOLE),
//  - hole punching.
// Everything that can block on I/O runs on a worker thread (Napi::AsyncWorker) so the event loop stays free.

#include <napi.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#endif

#if defined(__APPLE__)
#include <sys/attr.h>
#include <sys/clonefile.h>
#endif

void RegisterLz4(Napi::Env env, Napi::Object exports);  // src/lz4.cc

namespace {

const char *ErrnoCode(int err) {
  switch (err) {
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EISDIR: return "EISDIR";
    case ENOENT: return "ENOENT";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case ENOTDIR: return "ENOTDIR";
    case EPERM: return "EPERM";
    case EROFS: return "EROFS";
    case EXDEV: return "EXDEV";
    case EINTR: return "EINTR";
    case EDEADLK: return "EDEADLK";
    case ENOLCK: return "ENOLCK";
    case EFBIG: return "EFBIG";
    case ECANCELED: return "ECANCELED";
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP: return "EOPNOTSUPP";
#endif
    case ENOTSUP: return "ENOTSUP";
#if defined(ENOTTY)
    case ENOTTY: return "ENOTTY";
#endif
    default: return "EUNKNOWN";
  }
}

Napi::Error ErrnoError(Napi::Env env, int err, const std::string &syscall, const std::string &path = "") {
  std::string msg = std::string(ErrnoCode(err)) + ": " + std::strerror(err) + ", " + syscall;
  if (!path.empty()) msg += " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoCode(err)));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

int ArgFd(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "expected a file descriptor (number)");
  }
  return info[i].As<Napi::Number>().Int32Value();
}

std::string ArgString(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string("expected ") + what + " (string)");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

// ---------- fcntl record locks ----------

Napi::Value FcntlLock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string type = ArgString(info, 1, "lock type");
  bool ofd = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();

  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  if (type == "write") fl.l_type = F_WRLCK;
  else if (type == "read") fl.l_type = F_RDLCK;
  else if (type == "unlock") fl.l_type = F_UNLCK;
  else throw Napi::TypeError::New(env, "lock type must be 'write', 'read' or 'unlock'");
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;

  int cmd = F_SETLK;
  if (ofd) {
#if defined(F_OFD_SETLK)
    cmd = F_OFD_SETLK;
    fl.l_pid = 0;  // required by the kernel for OFD locks
#else
    throw ErrnoError(env, ENOTSUP, "fcntl(F_OFD_SETLK)");
#endif
  }
  int rc;
  do {
    rc = fcntl(fd, cmd, &fl);
  } while (rc == -1 && errno == EINTR);
  if (rc == -1) {
    if (errno == EAGAIN || errno == EACCES) return Napi::Boolean::New(env, false);
    throw ErrnoError(env, errno, "fcntl(F_SETLK)");
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value FcntlGetLockPid(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  if (fcntl(fd, F_GETLK, &fl) == -1) throw ErrnoError(env, errno, "fcntl(F_GETLK)");
  if (fl.l_type == F_UNLCK) return Napi::Number::New(env, 0);
  // OFD locks report l_pid == -1; keep it non-zero so "running" stays true, as Tart's probe expects.
  return Napi::Number::New(env, fl.l_pid == 0 ? -1 : fl.l_pid);
}

// ---------- flock ----------

int FlockOp(Napi::Env env, const std::string &op) {
  if (op == "ex") return LOCK_EX;
  if (op == "sh") return LOCK_SH;
  if (op == "un") return LOCK_UN;
  throw Napi::TypeError::New(env, "flock op must be 'ex', 'sh' or 'un'");
}

Napi::Value Flock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  int op = FlockOp(env, ArgString(info, 1, "flock op"));
  if (op != LOCK_UN) op |= LOCK_NB;
  int rc;
  do {
    rc = flock(fd, op);
  } while (rc == -1 && errno == EINTR);
  if (rc == -1) {
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    throw ErrnoError(env, errno, "flock");
  }
  return Napi::Boolean::New(env, true);
}

class FlockWaitWorker : public Napi::AsyncWorker {
 public:
  FlockWaitWorker(Napi::Env env, int fd, int op)
      : Napi::AsyncWorker(env), fd_(fd), op_(op), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    int rc;
    do {
      rc = flock(fd_, op_);
    } while (rc == -1 && errno == EINTR);
    err_ = rc == -1 ? errno : 0;
  }
  void OnOK() override {
    if (err_ != 0) deferred_.Reject(ErrnoError(Env(), err_, "flock").Value());
    else deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  int fd_;
  int op_;
  int err_ = 0;
  Napi::Promise::Deferred deferred_;
};

Napi::Value FlockWait(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  int op = FlockOp(env, ArgString(info, 1, "flock op"));
  if (op == LOCK_UN) throw Napi::TypeError::New(env, "flockWait takes 'ex' or 'sh'");
  auto *w = new FlockWaitWorker(env, fd, op);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---------- reflink ----------

class ReflinkWorker : public Napi::AsyncWorker {
 public:
  ReflinkWorker(Napi::Env env, std::string src, std::string dst)
      : Napi::AsyncWorker(env), src_(std::move(src)), dst_(std::move(dst)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
#if defined(__APPLE__)
    if (clonefile(src_.c_str(), dst_.c_str(), CLONE_NOFOLLOW) == -1) {
      err_ = errno;
      syscall_ = "clonefile";
    }
#elif defined(__linux__)
    int in = open(src_.c_str(), O_RDONLY | O_CLOEXEC);
    if (in == -1) {
      err_ = errno;
      syscall_ = "open";
      return;
    }
    struct stat st;
    if (fstat(in, &st) == -1) {
      err_ = errno;
      syscall_ = "fstat";
      close(in);
      return;
    }
    int out = open(dst_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
    if (out == -1) {
      err_ = errno;
      syscall_ = "open";
      close(in);
      return;
    }
    if (ioctl(out, FICLONE, in) == -1) {
      err_ = errno;
      syscall_ = "ioctl(FICLONE)";
      close(out);
      unlink(dst_.c_str());  // we created it; leave nothing behind
    } else if (close(out) == -1) {
      err_ = errno;
      syscall_ = "close";
    }
    close(in);
#else
    err_ = ENOTSUP;
    syscall_ = "reflink";
#endif
  }
  void OnOK() override {
    if (err_ != 0) deferred_.Reject(ErrnoError(Env(), err_, syscall_, dst_).Value());
    else deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  std::string src_, dst_;
  int err_ = 0;
  std::string syscall_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value Reflink(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto *w = new ReflinkWorker(env, ArgString(info, 0, "source path"), ArgString(info, 1, "destination path"));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---------- sparse copy ----------

constexpr size_t kBufSize = 128 << 10;  // 128 KiB reads (like cp): the buffer stays in cache while zero-checked
constexpr size_t kBlock = 4096;       // zero-detection granularity (like cp --sparse=always)

bool AllZero(const unsigned char *p, size_t n) {
  // Word-at-a-time scan; n is a multiple of 8 for all full blocks.
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    if (v != 0) return false;
  }
  for (; i < n; i++)
    if (p[i] != 0) return false;
  return true;
}

class SparseCopyWorker : public Napi::AsyncWorker {
 public:
  SparseCopyWorker(Napi::Env env, std::string src, std::string dst)
      : Napi::AsyncWorker(env), src_(std::move(src)), dst_(std::move(dst)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  // Optional cancel flag: element 0 of an Int32Array the caller sets to non-zero (Atomics.store) to stop the copy
  // between reads. The reference keeps its buffer alive (and in place) until the worker is done.
  void SetCancelFlag(Napi::Int32Array flag) {
    cancelRef_ = Napi::Persistent(static_cast<Napi::Object>(flag));
    cancel_ = flag.Data();
  }
  bool Cancelled() const { return cancel_ != nullptr && __atomic_load_n(cancel_, __ATOMIC_RELAXED) != 0; }

  bool Fail(const char *syscall, int err) {
    err_ = err;
    syscall_ = syscall;
    return false;
  }

  bool WriteAll(int out, const unsigned char *p, size_t n, off_t off) {
#if defined(__linux__)
    const off_t start = off;
    const size_t len = n;
#endif
    while (n > 0) {
      ssize_t w = pwrite(out, p, n, off);
      if (w == -1) {
        if (errno == EINTR) continue;
        return Fail("pwrite", errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
      off += w;
      written_ += static_cast<uint64_t>(w);
    }
#if defined(__linux__)
    // Start writing this run back now (asynchronously) so the closing fsync waits only for the tail, not the
    // whole file: a durable copy for about the cost of an unsynced one. Advisory; errors surface in fsync.
    sync_file_range(out, start, static_cast<off_t>(len), SYNC_FILE_RANGE_WRITE);
#endif
    return true;
  }

  // Copy [start, end) of in to out, skipping all-zero blocks.
  bool CopyRange(int in, int out, off_t start, off_t end, std::vector<unsigned char> &buf) {
    off_t pos = start;
    while (pos < end) {
      if (Cancelled()) return Fail("sparseCopy", ECANCELED);
      size_t want = static_cast<size_t>(std::min<off_t>(end - pos, static_cast<off_t>(buf.size())));
      ssize_t r = pread(in, buf.data(), want, pos);
      if (r == -1) {
        if (errno == EINTR) continue;
        return Fail("pread", errno);
      }
      if (r == 0) break;  // file shrank under us; size is fixed by ftruncate below
      size_t n = static_cast<size_t>(r);
      size_t i = 0;
      while (i < n) {
        // Find a run of non-zero blocks and write it in one call.
        size_t blk = std::min(kBlock, n - i);
        if (AllZero(buf.data() + i, blk)) {
          i += blk;
          continue;
        }
        size_t runStart = i;
        i += blk;
        while (i < n) {
          size_t b = std::min(kBlock, n - i);
          if (AllZero(buf.data() + i, b)) break;
          i += b;
        }
        if (!WriteAll(out, buf.data() + runStart, i - runStart, pos + static_cast<off_t>(runStart))) return false;
      }
      pos += static_cast<off_t>(n);
    }
    return true;
  }

  void Execute() override {
    int in = open(src_.c_str(), O_RDONLY | O_CLOEXEC);
    if (in == -1) {
      Fail("open", errno);
      failedPath_ = src_;
      return;
    }
    struct stat st;
    if (fstat(in, &st) == -1) {
      Fail("fstat", errno);
      close(in);
      return;
    }
    int out = open(dst_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
    if (out == -1) {
      Fail("open", errno);
      close(in);
      return;
    }
    bool ok = true;
    // Size first: the destination is sparse from the start and writes never extend it.
    if (ftruncate(out, st.st_size) == -1) ok = Fail("ftruncate", errno);
    std::vector<unsigned char> buf(kBufSize);
    off_t pos = 0;
    bool seekable = true;
    while (ok && pos < st.st_size) {
      off_t data = seekable ? lseek(in, pos, SEEK_DATA) : pos;
      if (data == -1) {
        if (errno == ENXIO) break;  // no more data: the rest is a hole
        if (errno == EINVAL || errno == ENOTSUP) {
          seekable = false;  // filesystem without SEEK_DATA: scan everything
          continue;
        }
        ok = Fail("lseek(SEEK_DATA)", errno);
        break;
      }
      off_t hole = seekable ? lseek(in, data, SEEK_HOLE) : st.st_size;
      if (hole == -1) {
        ok = Fail("lseek(SEEK_HOLE)", errno);
        break;
      }
      ok = CopyRange(in, out, data, hole, buf);
      pos = hole;
    }
    if (ok && fsync(out) == -1) ok = Fail("fsync", errno);
    if (close(out) == -1 && ok) ok = Fail("close", errno);
    close(in);
    if (!ok) {
      failedPath_ = dst_;
      unlink(dst_.c_str());  // never leave a partial copy
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(env, err_, syscall_, failedPath_.empty() ? dst_ : failedPath_).Value());
      return;
    }
    Napi::Object res = Napi::Object::New(env);
    res.Set("bytesWritten", Napi::Number::New(env, static_cast<double>(written_)));
    deferred_.Resolve(res);
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  std::string src_, dst_;
  int err_ = 0;
  std::string syscall_;
  std::string failedPath_;
  uint64_t written_ = 0;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference cancelRef_;
  int32_t *cancel_ = nullptr;
};

Napi::Value SparseCopy(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string src = ArgString(info, 0, "source path");
  std::string dst = ArgString(info, 1, "destination path");
  bool hasFlag = info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull();
  if (hasFlag && (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
                  info[2].As<Napi::Int32Array>().ElementLength() < 1)) {
    throw Napi::TypeError::New(env, "cancel flag must be an Int32Array of length >= 1");
  }
  auto *w = new SparseCopyWorker(env, src, dst);
  if (hasFlag) w->SetCancelFlag(info[2].As<Napi::Int32Array>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---------- holes ----------

off_t ArgOffset(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("expected ") + what + " (number)");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v > 9007199254740991.0) throw Napi::RangeError::New(info.Env(), std::string(what) + " out of range");
  return static_cast<off_t>(v);
}

Napi::Value PunchHole(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  off_t off = ArgOffset(info, 1, "offset");
  off_t len = ArgOffset(info, 2, "length");
  if (len == 0) return env.Undefined();
#if defined(__linux__)
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == -1)
    throw ErrnoError(env, errno, "fallocate(PUNCH_HOLE)");
#elif defined(__APPLE__)
  struct fpunchhole ph;
  std::memset(&ph, 0, sizeof(ph));
  ph.fp_offset = off;
  ph.fp_length = len;
  if (fcntl(fd, F_PUNCHHOLE, &ph) == -1) throw ErrnoError(env, errno, "fcntl(F_PUNCHHOLE)");
#else
  throw ErrnoError(env, ENOTSUP, "punchHole");
#endif
  return env.Undefined();
}

Napi::Value SeekWhence(const Napi::CallbackInfo &info, int whence, const char *name) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  off_t off = ArgOffset(info, 1, "offset");
  off_t r = lseek(fd, off, whence);
  if (r == -1) {
    if (errno == ENXIO) return Napi::Number::New(env, -1);
    throw ErrnoError(env, errno, name);
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

Napi::Value SeekData(const Napi::CallbackInfo &info) { return SeekWhence(info, SEEK_DATA, "lseek(SEEK_DATA)"); }
Napi::Value SeekHole(const Napi::CallbackInfo &info) { return SeekWhence(info, SEEK_HOLE, "lseek(SEEK_HOLE)"); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterLz4(env, exports);  // src/lz4.cc: raw LZ4 block codec for OCI disk layers
  exports.Set("fcntlLock", Napi::Function::New(env, FcntlLock, "fcntlLock"));
  exports.Set("fcntlGetLockPid", Napi::Function::New(env, FcntlGetLockPid, "fcntlGetLockPid"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("flockWait", Napi::Function::New(env, FlockWait, "flockWait"));
  exports.Set("reflink", Napi::Function::New(env, Reflink, "reflink"));
  exports.Set("sparseCopy", Napi::Function::New(env, SparseCopy, "sparseCopy"));
  exports.Set("punchHole", Napi::Function::New(env, PunchHole, "punchHole"));
  exports.Set("seekData", Napi::Function::New(env, SeekData, "seekData"));
  exports.Set("seekHole", Napi::Function::New(env, SeekHole, "seekHole"));
#if defined(__APPLE__)
  exports.Set("platform", Napi::String::New(env, "darwin"));
#elif defined(__linux__)
  exports.Set("platform", Napi::String::New(env, "linux"));
#else
  exports.Set("platform", Napi::String::New(env, "other"));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(nestbox_native, Init)
