// Sample sources for the sampling task: ADS1115 over I2C (primary) and the ESP32's ADC1.
#include "sleep_myoclonus.h"

#ifdef USE_ESP32

#include <esp_idf_version.h>
#if ESP_IDF_VERSION_MAJOR >= 5
#include <esp_adc/adc_oneshot.h>
#else
#include <driver/adc.h>
#endif

#include "esphome/core/log.h"

namespace esphome {
namespace sleep_myoclonus {

static const char *const TAG = "sleep_myoclonus.source";

#ifdef USE_SLEEP_MYOCLONUS_ADS1115

// ADS1115 registers and config-register fields (TI SBAS444, section 9.6).
static constexpr uint8_t ADS_REG_CONVERSION = 0x00;
static constexpr uint8_t ADS_REG_CONFIG = 0x01;
static constexpr uint8_t ADS_REG_LO_THRESH = 0x02;
static constexpr uint8_t ADS_REG_HI_THRESH = 0x03;
static constexpr uint16_t ADS_OS_START = 0x8000;      // start a single conversion
static constexpr uint16_t ADS_MODE_SINGLE = 0x0100;   // power down after each conversion
static constexpr uint16_t ADS_DR_860 = 0x00E0;        // 860 SPS: ~1.2 ms per conversion
// Comparator fields left 0: traditional mode, ALERT/RDY active low, non-latching, assert after
// one conversion. With Hi_thresh MSB = 1 and Lo_thresh MSB = 0 (set in begin()) ALERT/RDY then
// becomes a conversion-ready output: it goes low when a single-shot conversion finishes.
static constexpr TickType_t ADS_TIMEOUT_TICKS = pdMS_TO_TICKS(4) + 1;

bool Ads1115Source::begin(size_t channels) {
  if (this->ready_pin_ == nullptr || this->mux_.size() != channels) {
    ESP_LOGE(TAG, "ADS1115: need ready_pin and one input per channel");
    return false;
  }
  uint16_t config = 0;
  if (!this->read_byte_16(ADS_REG_CONFIG, &config)) {
    ESP_LOGE(TAG, "ADS1115 does not answer at address 0x%02X", this->address_);
    return false;
  }
  if (!this->write_byte_16(ADS_REG_LO_THRESH, 0x0000) || !this->write_byte_16(ADS_REG_HI_THRESH, 0x8000)) {
    ESP_LOGE(TAG, "ADS1115: could not enable the conversion-ready output");
    return false;
  }
  this->ready_pin_->setup();
  this->ready_pin_->attach_interrupt(&Ads1115Source::ready_isr, this, gpio::INTERRUPT_FALLING_EDGE);
  return true;
}

void IRAM_ATTR Ads1115Source::ready_isr(Ads1115Source *self) {
  self->ready_.store(true, std::memory_order_release);
  if (self->task_ == nullptr) return;
  BaseType_t woken = pdFALSE;
  vTaskNotifyGiveFromISR(self->task_, &woken);
  if (woken == pdTRUE) portYIELD_FROM_ISR();
}

bool Ads1115Source::convert_(uint8_t mux, int16_t *value) {
  const uint16_t config = static_cast<uint16_t>(ADS_OS_START | ((mux & 0x7u) << 12) | ((this->pga_ & 0x7u) << 9) |
                                                ADS_MODE_SINGLE | ADS_DR_860);
  this->ready_.store(false, std::memory_order_relaxed);
  if (!this->write_byte_16(ADS_REG_CONFIG, config)) return false;
  // Sleep until the ready interrupt. Timer ticks share the task notification and wake us too;
  // they are counted separately (SleepMyoclonusComponent::ticks_), so re-checking is enough.
  const TickType_t start = xTaskGetTickCount();
  while (!this->ready_.exchange(false, std::memory_order_acquire)) {
    const TickType_t waited = xTaskGetTickCount() - start;
    if (waited >= ADS_TIMEOUT_TICKS) return false;
    ulTaskNotifyTake(pdTRUE, ADS_TIMEOUT_TICKS - waited);
  }
  uint16_t raw = 0;
  if (!this->read_byte_16(ADS_REG_CONVERSION, &raw)) return false;
  *value = static_cast<int16_t>(raw);  // two's complement, big-endian on the bus
  return true;
}

bool Ads1115Source::read(int16_t *out) {
  for (size_t ch = 0; ch < this->mux_.size(); ch++) {
    if (!this->convert_(this->mux_[ch], &out[ch])) return false;
  }
  return true;
}

#endif  // USE_SLEEP_MYOCLONUS_ADS1115

static constexpr int ADC_OVERSAMPLE = 4;
static constexpr int ADC_MID_CODE = 2048;

bool Esp32AdcSource::begin(size_t channels) {
  if (this->adc_channels_.size() != channels) return false;
  // adc_atten_t: 0 = 0 dB, 1 = 2.5 dB, 2 = 6 dB, 3 = 11/12 dB (renamed in ESP-IDF 5.1).
  const auto atten = static_cast<adc_atten_t>(this->attenuation_ & 0x3u);
#if ESP_IDF_VERSION_MAJOR >= 5
  adc_oneshot_unit_init_cfg_t unit_config{};
  unit_config.unit_id = ADC_UNIT_1;
  unit_config.ulp_mode = ADC_ULP_MODE_DISABLE;
  adc_oneshot_unit_handle_t unit = nullptr;
  if (adc_oneshot_new_unit(&unit_config, &unit) != ESP_OK) {
    ESP_LOGE(TAG, "ADC1 is in use by another component");
    return false;
  }
  adc_oneshot_chan_cfg_t channel_config{};
  channel_config.atten = atten;
  channel_config.bitwidth = ADC_BITWIDTH_12;
  for (uint8_t channel : this->adc_channels_) {
    if (adc_oneshot_config_channel(unit, static_cast<adc_channel_t>(channel), &channel_config) != ESP_OK)
      return false;
  }
  this->unit_ = unit;
#else
  if (adc1_config_width(ADC_WIDTH_BIT_12) != ESP_OK) return false;
  for (uint8_t channel : this->adc_channels_) {
    if (adc1_config_channel_atten(static_cast<adc1_channel_t>(channel), atten) != ESP_OK) return false;
  }
#endif
  return true;
}

bool Esp32AdcSource::read(int16_t *out) {
  for (size_t ch = 0; ch < this->adc_channels_.size(); ch++) {
    int sum = 0;
    for (int k = 0; k < ADC_OVERSAMPLE; k++) {
      int raw = 0;
#if ESP_IDF_VERSION_MAJOR >= 5
      if (adc_oneshot_read(static_cast<adc_oneshot_unit_handle_t>(this->unit_),
                           static_cast<adc_channel_t>(this->adc_channels_[ch]), &raw) != ESP_OK)
        return false;
#else
      raw = adc1_get_raw(static_cast<adc1_channel_t>(this->adc_channels_[ch]));
      if (raw < 0) return false;
#endif
      sum += raw;
    }
    out[ch] = static_cast<int16_t>(sum - ADC_OVERSAMPLE * ADC_MID_CODE);
  }
  return true;
}

}  // namespace sleep_myoclonus
}  // namespace esphome

#endif  // USE_ESP32
