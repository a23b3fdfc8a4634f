#include "sleep_myoclonus.h"

#ifdef USE_ESP32

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sys/time.h>

#include <esp_random.h>
#include <esp_system.h>

#include "esphome/components/mqtt/mqtt_client.h"
#include "esphome/core/log.h"
#ifdef USE_WIFI
#include "esphome/components/wifi/wifi_component.h"
#endif

namespace esphome {
namespace sleep_myoclonus {

static const char *const TAG = "sleep_myoclonus";
/// Frames sent per loop() at most, so a backlog after a reconnect does not stall ESPHome.
static constexpr int MAX_FRAMES_PER_LOOP = 4;
static constexpr uint32_t DIAG_INTERVAL_MS = 60000;
/// The sampling task: above ESPHome's loop task (1), below Wi-Fi/lwIP/esp_timer (18-23).
static constexpr UBaseType_t SAMPLING_TASK_PRIORITY = 10;
static constexpr uint32_t SAMPLING_TASK_STACK = 4096;

void SleepMyoclonusComponent::fail_(const char *why) {
  ESP_LOGE(TAG, "%s", why);
  this->mark_failed();
}

void SleepMyoclonusComponent::setup() {
  const size_t channels = this->channel_names_.size();
  if (this->source_ == nullptr || channels < 1 || channels > MAX_CHANNELS || this->sample_rate_hz_ == 0 ||
      1000000u % this->sample_rate_hz_ != 0 || this->frame_samples_ == 0 ||
      this->frame_samples_ > Ring::max_read()) {
    this->fail_("Invalid configuration");
    return;
  }
  this->boot_id_ = esp_random();
  this->period_us_ = 1000000u / this->sample_rate_hz_;
  this->raw_topic_ = this->topic_("raw");
  this->samples_.assign(static_cast<size_t>(this->frame_samples_) * channels, 0);

  wire::FrameHeader probe;
  probe.n_samples = this->frame_samples_;
  probe.channels = static_cast<uint8_t>(channels);
  probe.fs_mhz = this->sample_rate_hz_ * 1000u;
  const size_t frame_bytes = wire::frame_size(probe);
  if (frame_bytes == 0 || frame_bytes > wire::DEVICE_MAX_FRAME_BYTES) {
    this->fail_("Frame would exceed 4 KiB; lower frame_samples");
    return;
  }
  this->payload_.assign(frame_bytes, 0);

  if (!this->source_->begin(channels)) {
    this->fail_("Sample source did not start (wiring, I2C address or pin?)");
    return;
  }
  this->ring_.reset(channels, 0);
  this->ring_.set_rails(this->source_->rail_low(), this->source_->rail_high());

  // Availability on <prefix>/<bed>/status. ESPHome's MQTT client has one last will; it is set
  // here, before the client's first connect (it connects from its loop, after Wi-Fi is up).
  auto *client = mqtt::global_mqtt_client;
  if (this->manage_status_ && client != nullptr) {
    const std::string status = this->topic_("status");
    client->set_last_will(mqtt::MQTTMessage{status, "offline", 1, true});
    client->set_birth_message(mqtt::MQTTMessage{status, "online", 1, true});
    client->set_shutdown_message(mqtt::MQTTMessage{status, "offline", 1, true});
  }

  const BaseType_t core = portNUM_PROCESSORS > 1 ? 1 : 0;  // Wi-Fi lives on core 0
  if (xTaskCreatePinnedToCore(&SleepMyoclonusComponent::sampling_task, "sm_sample", SAMPLING_TASK_STACK, this,
                              SAMPLING_TASK_PRIORITY, &this->task_, core) != pdPASS) {
    this->fail_("Could not create the sampling task");
    return;
  }
  this->source_->set_task(this->task_);

  esp_timer_create_args_t args{};
  args.callback = &SleepMyoclonusComponent::timer_callback;
  args.arg = this;
  args.dispatch_method = ESP_TIMER_TASK;
  args.name = "sm_tick";
  if (esp_timer_create(&args, &this->timer_) != ESP_OK) {
    this->fail_("Could not create the sample timer");
    return;
  }
  this->start_us_ = esp_timer_get_time();
  if (esp_timer_start_periodic(this->timer_, this->period_us_) != ESP_OK) {
    this->fail_("Could not start the sample timer");
    return;
  }
  this->set_interval("diag", DIAG_INTERVAL_MS, [this]() { this->publish_diag_(); });
}

// esp_timer task context, once per sample period. esp_timer schedules periodic timers at exact
// multiples of the period (no drift), so tick k happens at start_us_ + (k + 1) * period_us_.
void SleepMyoclonusComponent::timer_callback(void *arg) {
  auto *self = static_cast<SleepMyoclonusComponent *>(arg);
  self->ticks_.fetch_add(1, std::memory_order_release);
  xTaskNotifyGive(self->task_);
}

void SleepMyoclonusComponent::sampling_task(void *arg) {
  static_cast<SleepMyoclonusComponent *>(arg)->sample_forever_();
}

// The only producer of ring_. One ring sample per timer tick, always: if a read fails or the
// task fell more than one tick behind, the last value is repeated, so the sample index stays
// locked to the timer and t0_us stays exact.
void SleepMyoclonusComponent::sample_forever_() {
  int16_t last[MAX_CHANNELS] = {0, 0};
  int16_t fresh[MAX_CHANNELS] = {0, 0};
  uint32_t done = 0;
  for (;;) {
    const uint32_t due = this->ticks_.load(std::memory_order_acquire);
    if (due == done) {
      // Woken by the next tick (or by the ADS1115's ready interrupt; then we just re-check).
      ulTaskNotifyTake(pdTRUE, pdMS_TO_TICKS(100));
      continue;
    }
    if (due - done == 1 && this->source_->read(fresh)) {
      std::memcpy(last, fresh, sizeof last);
    } else {
      this->held_.fetch_add(1, std::memory_order_relaxed);
    }
    this->ring_.push(last);
    done++;
  }
}

bool SleepMyoclonusComponent::time_synced_() const {
#ifdef USE_TIME
  return this->time_ != nullptr && this->time_->now().is_valid();
#else
  return false;
#endif
}

// UNIX time of sample `index` in microseconds: its tick on the monotonic esp_timer clock, moved
// onto the system clock (which SNTP sets) by reading both clocks back to back.
int64_t SleepMyoclonusComponent::sample_time_us_(uint64_t index) const {
  struct timeval now;
  gettimeofday(&now, nullptr);
  const int64_t mono_now = esp_timer_get_time();
  const int64_t wall_now = static_cast<int64_t>(now.tv_sec) * 1000000 + now.tv_usec;
  const int64_t mono_sample = this->start_us_ + static_cast<int64_t>(index + 1) * this->period_us_;
  return wall_now - (mono_now - mono_sample);
}

void SleepMyoclonusComponent::loop() {
  auto *client = mqtt::global_mqtt_client;
  const bool connected = client != nullptr && client->is_connected();
  if (connected && !this->was_connected_) {
    client->publish(this->topic_("status"), std::string("online"), 1, true);
    this->publish_meta_();
  }
  this->was_connected_ = connected;
  // While offline the ring keeps the newest 8 s; older samples are overwritten and the next
  // frame carries GAP_BEFORE with the exact count.
  if (!connected) return;
  for (int i = 0; i < MAX_FRAMES_PER_LOOP; i++) {
    if (!this->publish_frame_()) break;
  }
}

bool SleepMyoclonusComponent::publish_frame_() {
  ReadInfo info;
  const uint16_t n = this->frame_samples_;
  if (!this->ring_.read(this->samples_.data(), n, &info)) return false;
  // 64-bit index for the timestamp; the wire carries its low 32 bits (sample0 wraps).
  this->next_index_ += info.missing;
  const uint64_t index = this->next_index_;
  this->next_index_ += n;

  wire::FrameHeader header;
  header.seq = this->seq_++;
  header.boot_id = this->boot_id_;
  header.sample0 = info.sample0;
  header.fs_mhz = this->sample_rate_hz_ * 1000u;
  header.n_samples = n;
  header.channels = static_cast<uint8_t>(this->ring_.channels());
  header.format = wire::SampleFormat::INT16;
  header.flags = static_cast<uint8_t>((info.gap_before ? wire::FLAG_GAP_BEFORE : 0) |
                                      (info.clipped != 0 ? wire::FLAG_CLIPPED : 0));
  if (this->time_synced_()) {
    header.t0_us = this->sample_time_us_(index);
    if (header.t0_us != 0) header.flags |= wire::FLAG_TIME_SYNCED;
  }
  const size_t len = wire::encode_frame(header, this->samples_.data(), this->samples_.size(), this->payload_.data(),
                                        this->payload_.size());
  if (len == 0) {
    ESP_LOGE(TAG, "Frame %" PRIu32 " refused by the encoder", header.seq);
    return true;  // consumed; never happens with a configuration setup() accepted
  }
  if (mqtt::global_mqtt_client->publish(this->raw_topic_, reinterpret_cast<const char *>(this->payload_.data()), len,
                                        0, false)) {
    this->frames_sent_++;
  } else if (this->publish_failures_++ % 100 == 0) {
    ESP_LOGW(TAG, "Publishing frames fails (%" PRIu32 " so far)", this->publish_failures_);
  }
  return true;
}

void SleepMyoclonusComponent::publish_meta_() {
  std::string channels;
  for (const auto &name : this->channel_names_) {
    channels += channels.empty() ? "\"" : ",\"";
    channels += name + "\"";
  }
  char json[512];
  const int len = snprintf(json, sizeof json,
                           "{\"protocol\":1,\"sensor_id\":\"%s\",\"model\":\"SM-piezo-1\","
                           "\"manufacturer\":\"Sleep Myoclonus\",\"firmware\":\"%s\",\"channels\":[%s],"
                           "\"fs_hz\":%" PRIu32 ".0,\"frame_samples\":%u,\"sample_format\":\"int16\","
                           "\"units\":\"counts\",\"volts_per_count\":%.6g,"
                           "\"filters\":{\"highpass_hz\":%.6g,\"lowpass_hz\":%.6g}}",
                           this->bed_id_.c_str(), this->firmware_.c_str(), channels.c_str(), this->sample_rate_hz_,
                           static_cast<unsigned>(this->frame_samples_), this->volts_per_count_, this->highpass_hz_,
                           this->lowpass_hz_);
  if (len <= 0 || static_cast<size_t>(len) >= sizeof json) {
    ESP_LOGE(TAG, "meta JSON too long");
    return;
  }
  mqtt::global_mqtt_client->publish(this->topic_("meta"), std::string(json, static_cast<size_t>(len)), 1, true);
}

void SleepMyoclonusComponent::publish_diag_() {
  auto *client = mqtt::global_mqtt_client;
  if (client == nullptr || !client->is_connected()) return;
  char rssi[8] = "null";
#ifdef USE_WIFI
  if (wifi::global_wifi_component != nullptr && wifi::global_wifi_component->is_connected())
    snprintf(rssi, sizeof rssi, "%d", static_cast<int>(wifi::global_wifi_component->wifi_rssi()));
#endif
  char json[256];
  const int len = snprintf(json, sizeof json,
                           "{\"uptime_s\":%" PRId64 ",\"frames_sent\":%" PRIu32 ",\"samples_dropped\":%" PRIu64
                           ",\"clipped_samples\":%" PRIu64 ",\"rssi_dbm\":%s,\"free_heap\":%" PRIu32 "}",
                           esp_timer_get_time() / 1000000, this->frames_sent_, this->ring_.dropped_total(),
                           this->ring_.clipped_total(), rssi, static_cast<uint32_t>(esp_get_free_heap_size()));
  if (len > 0 && static_cast<size_t>(len) < sizeof json)
    client->publish(this->topic_("diag"), std::string(json, static_cast<size_t>(len)), 0, false);
  ESP_LOGD(TAG, "diag: %s; held samples %" PRIu32 ", failed publishes %" PRIu32, json,
           this->held_.load(std::memory_order_relaxed), this->publish_failures_);
}

void SleepMyoclonusComponent::dump_config() {
  ESP_LOGCONFIG(TAG, "Sleep Myoclonus sensor:");
  ESP_LOGCONFIG(TAG, "  Topics: %s/%s/{raw,meta,status,diag}", this->topic_prefix_.c_str(), this->bed_id_.c_str());
  ESP_LOGCONFIG(TAG, "  Source: %s, %u channel(s)", this->source_ != nullptr ? this->source_->name() : "none",
                static_cast<unsigned>(this->channel_names_.size()));
  ESP_LOGCONFIG(TAG, "  Sample rate: %" PRIu32 " Hz, %u samples per frame", this->sample_rate_hz_,
                static_cast<unsigned>(this->frame_samples_));
  ESP_LOGCONFIG(TAG, "  Volts per count: %.6g", this->volts_per_count_);
  ESP_LOGCONFIG(TAG, "  Boot id: 0x%08" PRIX32, this->boot_id_);
  if (this->is_failed()) ESP_LOGE(TAG, "  Setup failed");
}

}  // namespace sleep_myoclonus
}  // namespace esphome

#endif  // USE_ESP32
