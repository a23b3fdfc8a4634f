// Host test driver for the firmware's pure logic (frame_encoder.h, ring_buffer.h).
//
// Reads one command per line on stdin and answers one line per command on stdout; the Python
// test (tests/hardware/test_firmware_encoder.py) writes the scripts and checks the answers
// against detector.protocol / detector.sequence. Commands:
//
//   encode FMT CH N SEQ BOOT SAMPLE0 FS_MHZ T0_US FLAGS CAPACITY V...
//       FMT int16|int32|float32; floats as C99 hex literals (exact). -> hex frame | ERR
//   size FMT CH N                      -> frame_size() of a minimal valid header
//   rb_reset CH START [LOW HIGH]       -> OK | ERR   (ring of int16, capacity 64, 2 channels)
//   rb_push COUNT                      -> OK         (values gen(index, channel))
//   rb_pushv V0 [V1]                   -> OK         (one explicit sample tuple)
//   rb_frame N SEQ BOOT                -> hex frame | NONE  (flags as the firmware sets them)
//   rb_stats                           -> available A dropped D clipped C next I
//   rb_inject COUNT                    -> OK   (the next rb_frame's copy is interrupted by COUNT
//                                         pushes, as if the sampling ISR fired mid-copy)
//   rb_push_reading N                  -> push one sample and, between its slot write and its
//                                         head update, run "rb_frame N 0 1"; prints that frame
//   stress TOTAL N SPIN                -> stress ... (producer and consumer threads; the producer
//                                         busy-waits SPIN loop iterations between pushes)
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "frame_encoder.h"
#include "ring_buffer.h"

namespace sm = esphome::sleep_myoclonus;
namespace wire = esphome::sleep_myoclonus::wire;

namespace {

void push_generated(uint32_t count);

std::string read_frame(unsigned n_samples, uint32_t seq, uint32_t boot);

// Replays the producer/consumer race deterministically; each arm fires once.
struct InjectHook {
  static uint32_t pending;          // samples to push in the middle of the next read
  static std::string *mid_push;     // set: read a frame in the middle of the next push
  static unsigned mid_push_n;
  static void after_copy() {
    const uint32_t count = pending;
    pending = 0;
    push_generated(count);
  }
  static void after_write() {
    std::string *answer = mid_push;
    mid_push = nullptr;
    if (answer != nullptr) *answer = read_frame(mid_push_n, 0, 1);
  }
};
uint32_t InjectHook::pending = 0;
std::string *InjectHook::mid_push = nullptr;
unsigned InjectHook::mid_push_n = 0;

using Ring = sm::SampleRing<int16_t, 64, 2>;
sm::SampleRing<int16_t, 64, 2, InjectHook> ring;  // static storage, as on the device

// Deterministic test signal; the Python test computes the same function.
int16_t gen(uint32_t index, uint32_t channel) {
  const uint32_t mixed = index * 31u + channel * 7919u;  // wraps mod 2^32 on purpose
  return static_cast<int16_t>(static_cast<int32_t>(mixed % 20001u) - 10000);
}

std::string to_hex(const uint8_t *data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(len * 2);
  for (size_t i = 0; i < len; i++) {
    text.push_back(digits[data[i] >> 4]);
    text.push_back(digits[data[i] & 0x0F]);
  }
  return text;
}

bool parse_format(const std::string &name, wire::SampleFormat *format) {
  if (name == "int16") *format = wire::SampleFormat::INT16;
  else if (name == "int32") *format = wire::SampleFormat::INT32;
  else if (name == "float32") *format = wire::SampleFormat::FLOAT32;
  else return false;
  return true;
}

template<typename T> std::vector<T> parse_values(std::istringstream &in) {
  std::vector<T> values;
  std::string token;
  while (in >> token) {
    if constexpr (std::is_same<T, float>::value) {
      values.push_back(static_cast<float>(std::strtod(token.c_str(), nullptr)));
    } else {
      values.push_back(static_cast<T>(std::strtoll(token.c_str(), nullptr, 10)));
    }
  }
  return values;
}

template<typename T>
std::string encode_values(const wire::FrameHeader &header, std::istringstream &in, size_t capacity) {
  const std::vector<T> values = parse_values<T>(in);
  std::vector<uint8_t> out(capacity + 16, 0xAA);  // guard bytes past `capacity`
  const size_t written = wire::encode_frame(header, values.data(), values.size(), out.data(), capacity);
  for (size_t i = capacity; i < out.size(); i++) {
    if (out[i] != 0xAA) return "OVERRUN";
  }
  return written == 0 ? "ERR" : to_hex(out.data(), written);
}

std::string cmd_encode(std::istringstream &in) {
  std::string fmt;
  unsigned channels = 0, n_samples = 0, flags = 0;
  uint32_t seq = 0, boot = 0, sample0 = 0, fs_mhz = 0;
  int64_t t0_us = 0;
  size_t capacity = 0;
  if (!(in >> fmt >> channels >> n_samples >> seq >> boot >> sample0 >> fs_mhz >> t0_us >> flags >> capacity))
    return "BADCMD";
  wire::FrameHeader header;
  if (!parse_format(fmt, &header.format)) return "BADCMD";
  header.channels = static_cast<uint8_t>(channels > 255 ? 255 : channels);
  header.n_samples = static_cast<uint16_t>(n_samples > 65535 ? 65535 : n_samples);
  header.seq = seq;
  header.boot_id = boot;
  header.sample0 = sample0;
  header.fs_mhz = fs_mhz;
  header.t0_us = t0_us;
  header.flags = static_cast<uint8_t>(flags > 255 ? 255 : flags);
  switch (header.format) {
    case wire::SampleFormat::INT16:
      return encode_values<int16_t>(header, in, capacity);
    case wire::SampleFormat::INT32:
      return encode_values<int32_t>(header, in, capacity);
    case wire::SampleFormat::FLOAT32:
      return encode_values<float>(header, in, capacity);
  }
  return "BADCMD";
}

std::string cmd_size(std::istringstream &in) {
  std::string fmt;
  unsigned channels = 0, n_samples = 0;
  wire::FrameHeader header;
  if (!(in >> fmt >> channels >> n_samples) || !parse_format(fmt, &header.format)) return "BADCMD";
  header.channels = static_cast<uint8_t>(channels > 255 ? 255 : channels);
  header.n_samples = static_cast<uint16_t>(n_samples > 65535 ? 65535 : n_samples);
  return std::to_string(wire::frame_size(header));
}

// The firmware's frame assembly: read a frame from the ring and set flags from ReadInfo.
std::string cmd_rb_frame(std::istringstream &in) {
  unsigned n_samples = 0;
  uint32_t seq = 0, boot = 0;
  if (!(in >> n_samples >> seq >> boot)) return "BADCMD";
  return read_frame(n_samples, seq, boot);
}

std::string read_frame(unsigned n_samples, uint32_t seq, uint32_t boot) {
  std::vector<int16_t> samples(static_cast<size_t>(n_samples) * ring.channels() + 1);
  sm::ReadInfo info;
  if (!ring.read(samples.data(), n_samples, &info)) return "NONE";
  wire::FrameHeader header;
  header.seq = seq;
  header.boot_id = boot;
  header.sample0 = info.sample0;
  header.fs_mhz = 250000;
  header.n_samples = static_cast<uint16_t>(n_samples);
  header.channels = static_cast<uint8_t>(ring.channels());
  header.flags = static_cast<uint8_t>((info.gap_before ? wire::FLAG_GAP_BEFORE : 0) |
                                      (info.clipped != 0 ? wire::FLAG_CLIPPED : 0));
  std::vector<uint8_t> out(wire::DEVICE_MAX_FRAME_BYTES);
  const size_t written = wire::encode_frame(header, samples.data(), static_cast<size_t>(n_samples) * ring.channels(),
                                            out.data(), out.size());
  return written == 0 ? "ERR" : to_hex(out.data(), written);
}

std::string cmd_rb_reset(std::istringstream &in) {
  unsigned channels = 0;
  uint32_t start = 0;
  if (!(in >> channels >> start)) return "BADCMD";
  long low = -32768, high = 32767;
  if (in >> low) in >> high;
  InjectHook::pending = 0;
  InjectHook::mid_push = nullptr;
  if (!ring.reset(channels, start)) return "ERR";
  ring.set_rails(static_cast<int16_t>(low), static_cast<int16_t>(high));
  return "OK";
}

void push_generated(uint32_t count) {
  int16_t values[2];
  for (uint32_t k = 0; k < count; k++) {
    const uint32_t index = ring.write_index();
    for (uint32_t ch = 0; ch < 2; ch++) values[ch] = gen(index, ch);
    ring.push(values);
  }
}

std::string cmd_rb_push(std::istringstream &in) {
  uint32_t count = 0;
  if (!(in >> count)) return "BADCMD";
  push_generated(count);
  return "OK";
}

std::string cmd_rb_push_reading(std::istringstream &in) {
  std::string answer = "NOT_RUN";
  if (!(in >> InjectHook::mid_push_n)) return "BADCMD";
  InjectHook::mid_push = &answer;
  push_generated(1);
  return answer;
}

std::string cmd_rb_inject(std::istringstream &in) {
  if (!(in >> InjectHook::pending)) return "BADCMD";
  return "OK";
}

std::string cmd_rb_pushv(std::istringstream &in) {
  int16_t values[2] = {0, 0};
  long v0 = 0, v1 = 0;
  if (!(in >> v0)) return "BADCMD";
  if (in >> v1) values[1] = static_cast<int16_t>(v1);
  values[0] = static_cast<int16_t>(v0);
  ring.push(values);
  return "OK";
}

std::string cmd_rb_stats() {
  std::ostringstream out;
  out << "available " << ring.available() << " dropped " << ring.dropped_total() << " clipped "
      << ring.clipped_total() << " next " << ring.read_index();
  return out.str();
}

// A real producer thread against a real consumer thread. Every returned frame must hold exactly
// gen(sample0 + k), sample0 must equal the previous end plus the reported missing count, and
// delivered + dropped + left over must equal everything pushed.
std::string cmd_stress(std::istringstream &in) {
  uint32_t total = 0, spin = 0;
  unsigned n_samples = 0;
  if (!(in >> total >> n_samples >> spin) || n_samples == 0 || n_samples > Ring::max_read())
    return "BADCMD";
  static Ring stress_ring;
  stress_ring.reset(2, 0xFFFFF000u);  // crosses the 2^32 wrap on the way
  std::atomic<bool> done{false};
  std::thread producer([&] {
    int16_t values[2];
    for (uint32_t k = 0; k < total; k++) {
      const uint32_t index = stress_ring.write_index();
      values[0] = gen(index, 0);
      values[1] = gen(index, 1);
      stress_ring.push(values);
      for (volatile uint32_t s = 0; s < spin; s = s + 1) {
      }
      if ((k & 0x3FF) == 0) std::this_thread::yield();  // interleave on few or busy cores
    }
    done.store(true, std::memory_order_release);
  });
  std::vector<int16_t> frame(static_cast<size_t>(n_samples) * 2);
  uint64_t frames = 0, delivered = 0, missing = 0, bad = 0, gaps = 0;
  uint32_t expected = 0xFFFFF000u;
  for (;;) {
    const bool finished = done.load(std::memory_order_acquire);
    sm::ReadInfo info;
    if (stress_ring.read(frame.data(), n_samples, &info)) {
      frames++;
      delivered += n_samples;
      missing += info.missing;
      gaps += info.gap_before ? 1 : 0;
      if (info.sample0 != expected + info.missing || info.gap_before != (info.missing != 0)) bad++;
      for (uint32_t k = 0; k < n_samples; k++) {
        for (uint32_t ch = 0; ch < 2; ch++) {
          if (frame[k * 2 + ch] != gen(info.sample0 + k, ch)) bad++;
        }
      }
      expected = info.sample0 + n_samples;
    } else if (finished) {
      break;
    }
  }
  producer.join();
  const uint64_t leftover = stress_ring.write_index() - stress_ring.read_index();
  std::ostringstream out;
  out << "stress frames " << frames << " delivered " << delivered << " missing " << missing << " gaps "
      << gaps << " leftover " << leftover << " dropped " << stress_ring.dropped_total() << " bad " << bad;
  return out.str();
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    if (!(in >> cmd)) continue;
    std::string answer;
    if (cmd == "encode") answer = cmd_encode(in);
    else if (cmd == "size") answer = cmd_size(in);
    else if (cmd == "rb_reset") answer = cmd_rb_reset(in);
    else if (cmd == "rb_push") answer = cmd_rb_push(in);
    else if (cmd == "rb_pushv") answer = cmd_rb_pushv(in);
    else if (cmd == "rb_frame") answer = cmd_rb_frame(in);
    else if (cmd == "rb_stats") answer = cmd_rb_stats();
    else if (cmd == "rb_inject") answer = cmd_rb_inject(in);
    else if (cmd == "rb_push_reading") answer = cmd_rb_push_reading(in);
    else if (cmd == "stress") answer = cmd_stress(in);
    else answer = "BADCMD";
    std::cout << answer << '\n';
  }
  return 0;
}
