// Sleep Myoclonus: lock-free sample ring buffer between the sampler and the publisher.
//
// Pure C++17, header-only, no ESPHome/Arduino dependency (host-tested).
//
// One producer (a timer ISR or the sampling task) pushes one sample tuple (all channels) per
// tick; one consumer (the ESPHome loop) reads whole frames. Both sides run without locks and
// without ever waiting for each other:
//
// * Every sample has an absolute index since boot (uint32_t, wraps at 2^32). The slot of sample
//   i is i % Capacity; Capacity is a power of two, so the mapping stays continuous across the
//   wrap and all index arithmetic is plain unsigned subtraction.
// * The producer never blocks and never looks at the consumer: when the consumer falls behind
//   by more than Capacity samples, the newest samples overwrite the oldest.
// * The consumer detects overwritten samples seqlock-style. Before writing sample w the producer
//   publishes claim = w + 1 and issues a release fence; the consumer copies slots, issues an
//   acquire fence and reads claim. Any copied sample older than claim - Capacity may have been
//   overwritten during the copy and is discarded (the read is retried from the first sample
//   that is still intact). The discarded samples are reported once, on the next frame that is
//   returned: ReadInfo::gap_before is set and ReadInfo::sample0 has jumped by exactly
//   ReadInfo::missing samples (the wire flag GAP_BEFORE).
// * Clipping: the consumer counts values at or beyond the configured rails (the ADC's minimum
//   and maximum codes); ReadInfo::clipped > 0 sets the wire flag CLIPPED.
//
// Slots are std::atomic<uint32_t> holding the sample's bits. The ring only ever loads and stores
// them (no read-modify-write), which compiles to plain word accesses plus fences on every ESP32
// variant, so push() is safe inside an ISR; and the host build is free of data races in the C++
// memory-model sense (ThreadSanitizer-clean).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace esphome {
namespace sleep_myoclonus {

/// What one successful SampleRing::read returned.
struct ReadInfo {
  /// Absolute index of the first sample of the frame (wraps at 2^32).
  uint32_t sample0{0};
  /// Samples lost (overwritten) between the previous frame and this one.
  uint32_t missing{0};
  /// Values of this frame at or beyond a rail (all channels counted).
  uint32_t clipped{0};
  /// missing > 0: the frame carries GAP_BEFORE.
  bool gap_before{false};
};

/// Default hooks: nothing (free in the firmware). The host test instantiates SampleRing with
/// hooks that replay both halves of the race deterministically: after_copy() pushes samples
/// between the consumer's copy and its validation (the ISR fired mid-copy), after_write()
/// reads a frame between a slot write and the head update (the consumer ran mid-push).
struct NoHooks {
  static void after_copy() {}
  static void after_write() {}
};

template<typename T, size_t Capacity, size_t MaxChannels = 2, typename Hooks = NoHooks>
class SampleRing {
  static_assert(Capacity >= 4 && (Capacity & (Capacity - 1)) == 0, "Capacity: power of two >= 4");
  static_assert(Capacity <= (size_t{1} << 30), "Capacity must leave room for serial arithmetic");
  static_assert(MaxChannels >= 1 && MaxChannels <= 8, "1..8 channels");
  static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= sizeof(uint32_t),
                "T must be a trivially copyable type of at most 32 bits");

 public:
  static constexpr size_t capacity() { return Capacity; }
  static constexpr size_t max_channels() { return MaxChannels; }
  /// Largest frame read() accepts: at least one more frame must fit while one is being sent.
  static constexpr size_t max_read() { return Capacity / 2; }

  SampleRing() { this->reset(1, 0); }
  SampleRing(const SampleRing &) = delete;
  SampleRing &operator=(const SampleRing &) = delete;

  /// Start over with `channels` channels and the next sample index `start_index`.
  /// Not thread-safe: call only while the producer is stopped. Returns false (and changes
  /// nothing) if `channels` is out of range.
  bool reset(size_t channels, uint32_t start_index = 0) {
    if (channels < 1 || channels > MaxChannels) return false;
    this->channels_ = channels;
    this->next_ = start_index;
    this->pending_missing_ = 0;
    this->dropped_total_ = 0;
    this->clipped_total_ = 0;
    this->claim_.store(start_index, std::memory_order_relaxed);
    this->head_.store(start_index, std::memory_order_release);
    return true;
  }

  /// Values at or below `low` or at or above `high` count as clipped (default: the limits of T).
  void set_rails(T low, T high) {
    this->rail_low_ = low;
    this->rail_high_ = high;
  }

  size_t channels() const { return this->channels_; }

  // ---- producer side (one thread / ISR) -------------------------------------------------

  /// Append one sample tuple (`channels()` values). Wait-free, no allocation: ISR-safe.
  void push(const T *values) {
    const uint32_t index = this->head_.load(std::memory_order_relaxed);  // producer-owned
    this->claim_.store(index + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);  // claim visible before the overwrite
    std::atomic<uint32_t> *slot = &this->slots_[(index & MASK) * MaxChannels];
    for (size_t ch = 0; ch < this->channels_; ch++) {
      slot[ch].store(to_bits(values[ch]), std::memory_order_relaxed);
    }
    Hooks::after_write();
    this->head_.store(index + 1, std::memory_order_release);  // data visible before head
  }

  /// Index the next push() will get (also readable by the consumer).
  uint32_t write_index() const { return this->head_.load(std::memory_order_acquire); }

  // ---- consumer side (one thread) -------------------------------------------------------

  /// Samples waiting to be read; at most Capacity (older ones are already overwritten).
  uint32_t available() const {
    const uint32_t waiting = this->head_.load(std::memory_order_acquire) - this->next_;
    return waiting > Capacity ? static_cast<uint32_t>(Capacity) : waiting;
  }

  /// Index of the next sample read() will return if none is lost before then.
  uint32_t read_index() const { return this->next_; }

  /// Copy the next `n_samples` sample tuples, interleaved by channel, into `out` (room for
  /// n_samples * channels() values). Returns false, consuming nothing, when fewer than
  /// `n_samples` are available or n_samples is 0 or above max_read().
  bool read(T *out, size_t n_samples, ReadInfo *info) {
    if (out == nullptr || n_samples == 0 || n_samples > max_read()) return false;
    const uint32_t n = static_cast<uint32_t>(n_samples);
    // Each retry follows a producer overwrite of the oldest samples; the producer adds at most
    // a few samples while a frame is copied, so one retry is the realistic maximum.
    for (int attempt = 0; attempt < 4; attempt++) {
      const uint32_t head = this->head_.load(std::memory_order_acquire);
      if (head - this->next_ > Capacity) this->skip_to_(head - static_cast<uint32_t>(Capacity));
      if (head - this->next_ < n) return false;
      for (uint32_t i = 0; i < n; i++) {
        const std::atomic<uint32_t> *slot = &this->slots_[((this->next_ + i) & MASK) * MaxChannels];
        for (size_t ch = 0; ch < this->channels_; ch++) {
          out[i * this->channels_ + ch] = from_bits(slot[ch].load(std::memory_order_relaxed));
        }
      }
      Hooks::after_copy();
      std::atomic_thread_fence(std::memory_order_acquire);
      const uint32_t oldest_intact =
          this->claim_.load(std::memory_order_relaxed) - static_cast<uint32_t>(Capacity);
      if (static_cast<int32_t>(oldest_intact - this->next_) > 0) {
        this->skip_to_(oldest_intact);  // some copied samples were overwritten meanwhile
        continue;
      }
      uint32_t clipped = 0;
      for (size_t i = 0; i < n_samples * this->channels_; i++) {
        if (!(out[i] > this->rail_low_ && out[i] < this->rail_high_)) clipped++;
      }
      if (info != nullptr) {
        info->sample0 = this->next_;
        info->missing = this->pending_missing_;
        info->gap_before = this->pending_missing_ != 0;
        info->clipped = clipped;
      }
      this->pending_missing_ = 0;
      this->clipped_total_ += clipped;
      this->next_ += n;
      return true;
    }
    return false;
  }

  /// Samples lost to overflow since reset().
  uint64_t dropped_total() const { return this->dropped_total_; }
  /// Clipped values returned by read() since reset().
  uint64_t clipped_total() const { return this->clipped_total_; }

 private:
  static constexpr uint32_t MASK = static_cast<uint32_t>(Capacity - 1);

  static uint32_t to_bits(T value) {
    if constexpr (std::is_integral<T>::value) {
      return static_cast<uint32_t>(static_cast<int64_t>(value));  // sign-extended, mod 2^32
    } else {
      uint32_t bits = 0;
      std::memcpy(&bits, &value, sizeof(T));
      return bits;
    }
  }

  static T from_bits(uint32_t bits) {
    if constexpr (std::is_integral<T>::value) {
      // Values were stored sign-extended; the low sizeof(T) bytes hold the two's complement.
      using U = typename std::make_unsigned<T>::type;
      const U raw = static_cast<U>(bits);
      T value;
      std::memcpy(&value, &raw, sizeof(T));
      return value;
    } else {
      T value;
      std::memcpy(&value, &bits, sizeof(T));
      return value;
    }
  }

  void skip_to_(uint32_t index) {
    const uint32_t lost = index - this->next_;
    this->pending_missing_ += lost;
    this->dropped_total_ += lost;
    this->next_ = index;
  }

  std::atomic<uint32_t> slots_[Capacity * MaxChannels]{};
  std::atomic<uint32_t> head_{0};   // producer: samples [.., head) are complete
  std::atomic<uint32_t> claim_{0};  // producer: sample claim - 1 may be being written
  size_t channels_{1};
  T rail_low_{std::numeric_limits<T>::lowest()};
  T rail_high_{std::numeric_limits<T>::max()};
  // Consumer-owned state.
  uint32_t next_{0};
  uint32_t pending_missing_{0};
  uint64_t dropped_total_{0};
  uint64_t clipped_total_{0};
};

}  // namespace sleep_myoclonus
}  // namespace esphome
