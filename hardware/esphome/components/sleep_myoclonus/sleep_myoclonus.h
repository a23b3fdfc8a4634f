// Sleep Myoclonus bed sensor: ESPHome component glue.
//
// Data path (ESP32 only):
//
//   esp_timer (crystal, every 1/fs) --notify--> sampling task (core 1, prio 10)
//     --> SampleSource::read()  (ADS1115 over I2C, or the ESP32's ADC1)
//     --> SampleRing::push()    (lock-free, ring_buffer.h)
//   ESPHome loop() --> SampleRing::read() one frame --> wire::encode_frame() (frame_encoder.h)
//     --> MQTT <prefix>/<bed>/raw, QoS 0
//
// plus retained <prefix>/<bed>/meta and <prefix>/<bed>/status (online; offline as the MQTT
// last will) on every connect, and <prefix>/<bed>/diag every 60 s. See hardware/PROTOCOL.md.
#pragma once

#include "esphome/core/defines.h"

#ifdef USE_ESP32

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <esp_timer.h>
#include <freertos/FreeRTOS.h>
#include <freertos/task.h>

#include "esphome/core/component.h"
#include "esphome/core/hal.h"

// Defined by __init__.py when the source is an ADS1115 (which also requires an i2c: bus).
#ifdef USE_SLEEP_MYOCLONUS_ADS1115
#include "esphome/components/i2c/i2c.h"
#endif
#ifdef USE_TIME
#include "esphome/components/time/real_time_clock.h"
#endif

#include "frame_encoder.h"
#include "ring_buffer.h"

namespace esphome {
namespace sleep_myoclonus {

/// Samples per channel the ring holds: 8.2 s at 250 Hz, 16 KiB. Frames are at most half of it.
static constexpr size_t RING_CAPACITY = 2048;
static constexpr size_t MAX_CHANNELS = 2;
using Ring = SampleRing<int16_t, RING_CAPACITY, MAX_CHANNELS>;

/// An ADC front end. begin() runs in setup() on the main task; read() runs on the sampling task
/// only, once per tick, and must finish well within one sample period.
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  /// Configure the hardware for `channels` channels; false if it is missing or misconfigured.
  virtual bool begin(size_t channels) = 0;
  /// The task read() runs on, for wake-ups from interrupts (called before sampling starts).
  virtual void set_task(TaskHandle_t task) { (void) task; }
  /// Read one sample per channel into `out`; false on a bus or conversion error (then the
  /// content of `out` is unspecified and the caller repeats its previous sample).
  virtual bool read(int16_t *out) = 0;
  /// Codes the converter outputs when its input is at or beyond full scale.
  virtual int16_t rail_low() const = 0;
  virtual int16_t rail_high() const = 0;
  virtual const char *name() const = 0;
};

#ifdef USE_SLEEP_MYOCLONUS_ADS1115
/// TI ADS1115 (16 bit, PGA) in single-shot mode at 860 SPS, one conversion per channel per tick;
/// its ALERT/RDY pin (conversion ready) wakes the sampling task, so the CPU is free while the
/// converter works. Owns its I2C bus: nothing else may use that bus.
class Ads1115Source : public SampleSource, public i2c::I2CDevice {
 public:
  void set_ready_pin(InternalGPIOPin *pin) { this->ready_pin_ = pin; }
  /// PGA code (0 = +-6.144 V ... 5 = +-0.256 V).
  void set_pga(uint8_t pga) { this->pga_ = pga; }
  /// Input multiplexer code per channel (0 = AIN0-AIN1 ... 7 = AIN3-GND).
  void add_mux(uint8_t mux) { this->mux_.push_back(mux); }
  bool begin(size_t channels) override;
  void set_task(TaskHandle_t task) override { this->task_ = task; }
  bool read(int16_t *out) override;
  int16_t rail_low() const override { return -32768; }
  int16_t rail_high() const override { return 32767; }
  const char *name() const override { return "ADS1115"; }

 protected:
  static void ready_isr(Ads1115Source *self);
  bool convert_(uint8_t mux, int16_t *value);

  InternalGPIOPin *ready_pin_{nullptr};
  uint8_t pga_{3};
  std::vector<uint8_t> mux_;
  std::atomic<bool> ready_{false};
  TaskHandle_t task_{nullptr};
};
#endif

/// The ESP32's ADC1 (classic ESP32: GPIO32-39), 4x oversampled: the sample is the sum of four
/// 12-bit readings minus 4 x 2048, so mid-scale reads 0 and the rails are -8192 / +8188.
class Esp32AdcSource : public SampleSource {
 public:
  /// 0 = 0 dB, 1 = 2.5 dB, 2 = 6 dB, 3 = 12 dB (the default; ~0.15-2.45 V).
  void set_attenuation(uint8_t attenuation) { this->attenuation_ = attenuation; }
  /// ADC1 channel (0-7) per sensor channel.
  void add_channel(uint8_t adc1_channel) { this->adc_channels_.push_back(adc1_channel); }
  bool begin(size_t channels) override;
  bool read(int16_t *out) override;
  int16_t rail_low() const override { return -8192; }
  int16_t rail_high() const override { return 8188; }
  const char *name() const override { return "ESP32 ADC1"; }

 protected:
  uint8_t attenuation_{3};
  std::vector<uint8_t> adc_channels_;
  void *unit_{nullptr};  // adc_oneshot_unit_handle_t on ESP-IDF 5
};

class SleepMyoclonusComponent : public Component {
 public:
  // Configuration, from __init__.py.
  void set_source(SampleSource *source) { this->source_ = source; }
  void set_bed_id(const std::string &bed_id) { this->bed_id_ = bed_id; }
  void set_topic_prefix(const std::string &prefix) { this->topic_prefix_ = prefix; }
  void add_channel_name(const std::string &name) { this->channel_names_.push_back(name); }
  void set_sample_rate(uint32_t hz) { this->sample_rate_hz_ = hz; }
  void set_frame_samples(uint16_t n) { this->frame_samples_ = n; }
  void set_volts_per_count(float v) { this->volts_per_count_ = v; }
  void set_filters(float highpass_hz, float lowpass_hz) {
    this->highpass_hz_ = highpass_hz;
    this->lowpass_hz_ = lowpass_hz;
  }
  void set_firmware_version(const std::string &version) { this->firmware_ = version; }
  void set_manage_status(bool manage) { this->manage_status_ = manage; }
#ifdef USE_TIME
  void set_time(time::RealTimeClock *clock) { this->time_ = clock; }
#endif

  void setup() override;
  void loop() override;
  void dump_config() override;
  // After the I2C bus and pins, before Wi-Fi/MQTT: the last will must be set before connecting.
  float get_setup_priority() const override { return setup_priority::DATA; }

 protected:
  static void timer_callback(void *arg);
  static void sampling_task(void *arg);
  void sample_forever_();

  std::string topic_(const char *leaf) const { return this->topic_prefix_ + "/" + this->bed_id_ + "/" + leaf; }
  void fail_(const char *why);
  bool publish_frame_();
  void publish_meta_();
  void publish_diag_();
  bool time_synced_() const;
  int64_t sample_time_us_(uint64_t index) const;

  // Configuration.
  SampleSource *source_{nullptr};
  std::string bed_id_;
  std::string topic_prefix_{"sleep_myoclonus"};
  std::vector<std::string> channel_names_;
  uint32_t sample_rate_hz_{250};
  uint16_t frame_samples_{125};
  float volts_per_count_{1.024f / 32768.0f};
  float highpass_hz_{0.22f};
  float lowpass_hz_{40.0f};
  std::string firmware_{"0.1.0"};
  bool manage_status_{true};
#ifdef USE_TIME
  time::RealTimeClock *time_{nullptr};
#endif

  // Sampling (timer + task); producer side of ring_.
  Ring ring_;
  esp_timer_handle_t timer_{nullptr};
  TaskHandle_t task_{nullptr};
  std::atomic<uint32_t> ticks_{0};   // timer ticks since start
  std::atomic<uint32_t> held_{0};    // samples repeated after a read error or a late tick
  int64_t start_us_{0};              // esp_timer time the timer was started
  uint32_t period_us_{4000};

  // Publishing; consumer side of ring_ (ESPHome loop only).
  std::string raw_topic_;
  std::vector<int16_t> samples_;
  std::vector<uint8_t> payload_;
  uint32_t boot_id_{0};
  uint32_t seq_{0};
  uint64_t next_index_{0};  // 64-bit absolute index of the next sample to publish
  uint32_t frames_sent_{0};
  uint32_t publish_failures_{0};
  bool was_connected_{false};
};

}  // namespace sleep_myoclonus
}  // namespace esphome

#endif  // USE_ESP32
