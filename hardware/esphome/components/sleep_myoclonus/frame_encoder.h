// Sleep Myoclonus wire protocol v1: frame encoder (device side).
//
// Pure C++17, header-only, no ESPHome/Arduino dependency: it compiles with the host g++ and is
// tested there against the Python reference codec (tests/hardware/test_firmware_encoder.py).
// The byte layout is specified in hardware/PROTOCOL.md:
//
//   offset size field          offset size field
//   0      2    magic "SM"     12     4    seq
//   2      1    version (1)    16     4    boot_id
//   3      1    header_len 36  20     4    sample0
//   4      1    flags          24     4    fs_mhz
//   5      1    sample_format  28     8    t0_us (int64)
//   6      1    channels       36     ..   samples, interleaved by channel
//   7      1    reserved (0)
//   8      2    n_samples
//   10     2    reserved (0)
//
// Every multi-byte value is written little-endian one byte at a time, so the output does not
// depend on the host's endianness, alignment or struct packing. Every function refuses (returns
// 0) rather than writing an invalid frame or writing past the end of the output buffer.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace esphome {
namespace sleep_myoclonus {
namespace wire {

constexpr uint8_t MAGIC_0 = 0x53;  // 'S'
constexpr uint8_t MAGIC_1 = 0x4D;  // 'M'
constexpr uint8_t VERSION = 1;
constexpr size_t HEADER_LEN = 36;
constexpr uint8_t MAX_CHANNELS = 8;
constexpr uint16_t MAX_SAMPLES = 4096;
/// Hard receiver cap on a whole payload.
constexpr size_t MAX_FRAME_BYTES = 65536;
/// What a device keeps its frames under (PROTOCOL.md "Limits").
constexpr size_t DEVICE_MAX_FRAME_BYTES = 4096;
constexpr uint32_t MIN_FS_MHZ = 1000;
constexpr uint32_t MAX_FS_MHZ = 10000000;

constexpr uint8_t FLAG_TIME_SYNCED = 0x01;
constexpr uint8_t FLAG_CLIPPED = 0x02;
constexpr uint8_t FLAG_GAP_BEFORE = 0x04;
constexpr uint8_t FLAG_BACKFILL = 0x08;
constexpr uint8_t KNOWN_FLAGS = 0x0F;

enum class SampleFormat : uint8_t { INT16 = 1, INT32 = 2, FLOAT32 = 3 };

/// Bytes per sample of a format, 0 for an unknown format.
constexpr size_t sample_size(SampleFormat format) {
  switch (format) {
    case SampleFormat::INT16:
      return 2;
    case SampleFormat::INT32:
    case SampleFormat::FLOAT32:
      return 4;
  }
  return 0;
}

/// Header fields of one frame (magic, version, header length and reserved bytes are implied).
struct FrameHeader {
  uint32_t seq{0};
  uint32_t boot_id{0};
  uint32_t sample0{0};
  uint32_t fs_mhz{250000};
  /// UNIX time of sample0 in microseconds; non-zero exactly when FLAG_TIME_SYNCED is set.
  int64_t t0_us{0};
  uint16_t n_samples{0};
  uint8_t channels{1};
  uint8_t flags{0};
  SampleFormat format{SampleFormat::INT16};
};

/// Size in bytes of the frame `header` describes, or 0 if the header is not a valid v1 frame:
/// channels 1..8, n_samples 1..4096, fs 1 Hz..10 kHz, no reserved flag bit, t0_us non-zero
/// exactly when TIME_SYNCED is set, and the whole frame within MAX_FRAME_BYTES.
inline size_t frame_size(const FrameHeader &header) {
  const size_t width = sample_size(header.format);
  if (width == 0) return 0;
  if (header.channels < 1 || header.channels > MAX_CHANNELS) return 0;
  if (header.n_samples < 1 || header.n_samples > MAX_SAMPLES) return 0;
  if (header.fs_mhz < MIN_FS_MHZ || header.fs_mhz > MAX_FS_MHZ) return 0;
  if ((header.flags & ~KNOWN_FLAGS) != 0) return 0;
  const bool synced = (header.flags & FLAG_TIME_SYNCED) != 0;
  if (synced != (header.t0_us != 0)) return 0;
  const size_t total = HEADER_LEN + static_cast<size_t>(header.n_samples) * header.channels * width;
  return total <= MAX_FRAME_BYTES ? total : 0;
}

namespace detail {

inline void put_u8(uint8_t *out, size_t offset, uint8_t value) { out[offset] = value; }

inline void put_u16(uint8_t *out, size_t offset, uint16_t value) {
  out[offset] = static_cast<uint8_t>(value & 0xFFu);
  out[offset + 1] = static_cast<uint8_t>((value >> 8) & 0xFFu);
}

inline void put_u32(uint8_t *out, size_t offset, uint32_t value) {
  for (size_t i = 0; i < 4; i++) out[offset + i] = static_cast<uint8_t>((value >> (8 * i)) & 0xFFu);
}

inline void put_u64(uint8_t *out, size_t offset, uint64_t value) {
  for (size_t i = 0; i < 8; i++) out[offset + i] = static_cast<uint8_t>((value >> (8 * i)) & 0xFFu);
}

// Sample writers: two's complement via the unsigned conversion (well defined in C++), IEEE-754
// bits via memcpy (no type punning through pointers).
inline bool put_sample(uint8_t *out, size_t offset, int16_t value) {
  put_u16(out, offset, static_cast<uint16_t>(value));
  return true;
}

inline bool put_sample(uint8_t *out, size_t offset, int32_t value) {
  put_u32(out, offset, static_cast<uint32_t>(value));
  return true;
}

inline bool put_sample(uint8_t *out, size_t offset, float value) {
  if (!std::isfinite(value)) return false;
  static_assert(sizeof(float) == 4, "float must be IEEE-754 binary32");
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  put_u32(out, offset, bits);
  return true;
}

template<typename T> constexpr SampleFormat format_of();
template<> constexpr SampleFormat format_of<int16_t>() { return SampleFormat::INT16; }
template<> constexpr SampleFormat format_of<int32_t>() { return SampleFormat::INT32; }
template<> constexpr SampleFormat format_of<float>() { return SampleFormat::FLOAT32; }

}  // namespace detail

/// Write the 36-byte header into `out`. Returns HEADER_LEN, or 0 if the header is invalid or
/// `capacity` cannot hold the whole frame it announces (nothing is written then).
inline size_t encode_header(const FrameHeader &header, uint8_t *out, size_t capacity) {
  const size_t total = frame_size(header);
  if (total == 0 || out == nullptr || capacity < total) return 0;
  using detail::put_u16;
  using detail::put_u32;
  using detail::put_u8;
  put_u8(out, 0, MAGIC_0);
  put_u8(out, 1, MAGIC_1);
  put_u8(out, 2, VERSION);
  put_u8(out, 3, static_cast<uint8_t>(HEADER_LEN));
  put_u8(out, 4, header.flags);
  put_u8(out, 5, static_cast<uint8_t>(header.format));
  put_u8(out, 6, header.channels);
  put_u8(out, 7, 0);
  put_u16(out, 8, header.n_samples);
  put_u16(out, 10, 0);
  put_u32(out, 12, header.seq);
  put_u32(out, 16, header.boot_id);
  put_u32(out, 20, header.sample0);
  put_u32(out, 24, header.fs_mhz);
  detail::put_u64(out, 28, static_cast<uint64_t>(header.t0_us));
  return HEADER_LEN;
}

/// Encode a whole frame: header plus `count` interleaved samples (s[0][ch0], s[0][ch1], ...).
///
/// T is int16_t, int32_t or float and must match `header.format`; `count` must equal
/// n_samples * channels. Returns the number of bytes written, or 0 (refused) when the header is
/// invalid, the format or count does not match, a float sample is not finite, or `capacity` is
/// too small. On refusal the buffer content is unspecified but nothing beyond `capacity` is
/// touched.
template<typename T>
size_t encode_frame(const FrameHeader &header, const T *samples, size_t count, uint8_t *out,
                    size_t capacity) {
  if (header.format != detail::format_of<T>()) return 0;
  const size_t total = frame_size(header);
  if (total == 0 || samples == nullptr) return 0;
  if (count != static_cast<size_t>(header.n_samples) * header.channels) return 0;
  if (encode_header(header, out, capacity) != HEADER_LEN) return 0;
  size_t offset = HEADER_LEN;
  for (size_t i = 0; i < count; i++, offset += sizeof(T)) {
    if (!detail::put_sample(out, offset, samples[i])) return 0;
  }
  return offset == total ? total : 0;
}

}  // namespace wire
}  // namespace sleep_myoclonus
}  // namespace esphome
