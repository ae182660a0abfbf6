// Raw LZ4 block codec for Tart's disk layers (Apple Compression-framework LZ4 = raw LZ4 blocks in bv41/bv4-/bv4$
// framing; see tart-format.md Appendix A). The framing lives in TypeScript (app/core/oci/lz4.ts); this file only
// encodes and decodes raw blocks into caller-owned buffers, so nothing is allocated per call.
//
//  lz4DecodeBlock(src, dst, dstPos) -> new dstPos, or a negative error code.
//    Matches may reach back before dstPos (up to 64 KiB): the caller keeps the previous blocks' output there,
//    which is what Apple-produced streams need (their blocks refer into earlier blocks' output).
//  lz4EncodeBlock(src, dst) -> compressed size, or -1 when dst is too small. Self-contained block (no history).
//  lz4CompressBound(n) -> worst-case encoded size.
// Both run synchronously: they are called from worker threads (app/core/oci/worker.ts), never the main thread.

#include <napi.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

inline uint32_t Read32(const uint8_t *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

constexpr int kHashLog = 12;  // 16 KiB table: fits L1 (like liblz4's default); larger tables were much slower on binaries
inline uint32_t Hash4(uint32_t v) { return (v * 2654435761u) >> (32 - kHashLog); }

int64_t Decode(const uint8_t *src, size_t srcLen, uint8_t *dst, size_t dstPos, size_t dstCap) {
  const uint8_t *ip = src;
  const uint8_t *const iend = src + srcLen;
  uint8_t *op = dst + dstPos;
  uint8_t *const oend = dst + dstCap;
  while (ip < iend) {
    const unsigned token = *ip++;
    size_t lit = token >> 4;
    if (lit == 15) {
      unsigned b;
      do {
        if (ip >= iend) return -1;
        b = *ip++;
        lit += b;
      } while (b == 255);
    }
    if (lit > static_cast<size_t>(iend - ip) || lit > static_cast<size_t>(oend - op)) return -2;
    std::memcpy(op, ip, lit);
    op += lit;
    ip += lit;
    if (ip >= iend) break;  // the last sequence has literals only
    if (iend - ip < 2) return -3;
    const size_t off = static_cast<size_t>(ip[0]) | (static_cast<size_t>(ip[1]) << 8);
    ip += 2;
    if (off == 0 || off > static_cast<size_t>(op - dst)) return -4;
    size_t ml = token & 15;
    if (ml == 15) {
      unsigned b;
      do {
        if (ip >= iend) return -5;
        b = *ip++;
        ml += b;
      } while (b == 255);
    }
    ml += 4;
    if (ml > static_cast<size_t>(oend - op)) return -6;
    const uint8_t *m = op - off;
    if (off >= ml) {
      std::memcpy(op, m, ml);
      op += ml;
    } else {
      // Overlapping copy: the copied region repeats with period `off`; copy doubling chunks.
      uint8_t *d = op;
      size_t rem = ml;
      while (rem > 0) {
        size_t n = static_cast<size_t>(d - m);
        if (n > rem) n = rem;
        std::memcpy(d, m, n);
        d += n;
        rem -= n;
      }
      op += ml;
    }
  }
  return op - dst;
}

uint8_t *WriteLen(uint8_t *op, size_t len) {
  while (len >= 255) {
    *op++ = 255;
    len -= 255;
  }
  *op++ = static_cast<uint8_t>(len);
  return op;
}

int64_t Encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, std::vector<uint32_t> &table) {
  const uint8_t *ip = src;
  const uint8_t *anchor = src;
  const uint8_t *const iend = src + n;
  uint8_t *op = dst;
  uint8_t *const oend = dst + cap;
  if (n >= 13) {
    std::fill(table.begin(), table.end(), 0);
    const uint8_t *const mflimit = iend - 12;    // a match must start before this
    const uint8_t *const matchlimit = iend - 5;  // and end before this (last 5 bytes are literals)
    ip++;
    while (ip < mflimit) {
      const uint32_t seq = Read32(ip);
      const uint32_t h = Hash4(seq);
      const uint8_t *ref = src + table[h];
      table[h] = static_cast<uint32_t>(ip - src);
      if (ref >= ip || ip - ref > 65535 || Read32(ref) != seq) {
        ip += 1 + ((ip - anchor) >> 6);  // skip faster through incompressible data
        continue;
      }
      while (ip > anchor && ref > src && ip[-1] == ref[-1]) {
        ip--;
        ref--;
      }
      size_t len = 4;
      while (ip + len + 8 <= matchlimit) {
        uint64_t a, b;
        std::memcpy(&a, ip + len, 8);
        std::memcpy(&b, ref + len, 8);
        const uint64_t x = a ^ b;
        if (x != 0) {
          len += static_cast<size_t>(__builtin_ctzll(x) >> 3);  // little-endian hosts (x86-64, arm64)
          goto counted;
        }
        len += 8;
      }
      while (ip + len < matchlimit && ip[len] == ref[len]) len++;
    counted:
      const size_t lit = ip - anchor;
      if (static_cast<size_t>(oend - op) < lit + lit / 255 + 16 + len / 255) return -1;
      uint8_t *token = op++;
      *token = static_cast<uint8_t>((lit >= 15 ? 15 : lit) << 4);
      if (lit >= 15) op = WriteLen(op, lit - 15);
      std::memcpy(op, anchor, lit);
      op += lit;
      const size_t off = ip - ref;
      *op++ = static_cast<uint8_t>(off & 0xff);
      *op++ = static_cast<uint8_t>(off >> 8);
      const size_t mlc = len - 4;
      *token |= static_cast<uint8_t>(mlc >= 15 ? 15 : mlc);
      if (mlc >= 15) op = WriteLen(op, mlc - 15);
      ip += len;
      anchor = ip;
      if (ip < mflimit) table[Hash4(Read32(ip - 2))] = static_cast<uint32_t>(ip - 2 - src);
    }
  }
  const size_t lit = iend - anchor;
  if (static_cast<size_t>(oend - op) < lit + lit / 255 + 2) return -1;
  uint8_t *token = op++;
  *token = static_cast<uint8_t>((lit >= 15 ? 15 : lit) << 4);
  if (lit >= 15) op = WriteLen(op, lit - 15);
  std::memcpy(op, anchor, lit);
  op += lit;
  return op - dst;
}

Napi::Uint8Array ArgBytes(const Napi::CallbackInfo &info, size_t i) {
  if (!info[i].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "expected a Uint8Array");
  return info[i].As<Napi::Uint8Array>();
}

Napi::Value Lz4DecodeBlock(const Napi::CallbackInfo &info) {
  auto src = ArgBytes(info, 0);
  auto dst = ArgBytes(info, 1);
  const int64_t pos = info[2].As<Napi::Number>().Int64Value();
  if (pos < 0 || static_cast<size_t>(pos) > dst.ByteLength()) throw Napi::RangeError::New(info.Env(), "dstPos out of range");
  size_t cap = dst.ByteLength();
  if (info.Length() > 3 && info[3].IsNumber()) {
    const int64_t end = info[3].As<Napi::Number>().Int64Value();
    if (end >= pos && static_cast<size_t>(end) < cap) cap = static_cast<size_t>(end);
  }
  const int64_t r = Decode(src.Data(), src.ByteLength(), dst.Data(), static_cast<size_t>(pos), cap);
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

Napi::Value Lz4EncodeBlock(const Napi::CallbackInfo &info) {
  static thread_local std::vector<uint32_t> table(1u << kHashLog);
  auto src = ArgBytes(info, 0);
  auto dst = ArgBytes(info, 1);
  const int64_t r = Encode(src.Data(), src.ByteLength(), dst.Data(), dst.ByteLength(), table);
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

Napi::Value Lz4CompressBound(const Napi::CallbackInfo &info) {
  const double n = info[0].As<Napi::Number>().DoubleValue();
  return Napi::Number::New(info.Env(), n + n / 255 + 16);
}

}  // namespace

void RegisterLz4(Napi::Env env, Napi::Object exports) {
  exports.Set("lz4DecodeBlock", Napi::Function::New(env, Lz4DecodeBlock, "lz4DecodeBlock"));
  exports.Set("lz4EncodeBlock", Napi::Function::New(env, Lz4EncodeBlock, "lz4EncodeBlock"));
  exports.Set("lz4CompressBound", Napi::Function::New(env, Lz4CompressBound, "lz4CompressBound"));
}
