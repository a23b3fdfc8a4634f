"""ESPHome external component ``sleep_myoclonus``: piezo bed sensor publishing v1 frames.

Configuration (see ``hardware/esphome/sleep-myoclonus-sensor.yaml`` and ``hardware/README.md``)::

    sleep_myoclonus:
      bed_id: bedroom
      time_id: sntp_time
      source:
        type: ads1115          # or esp32_adc
        i2c_id: piezo_bus
        ready_pin: GPIO27
        gain: "1.024"
      channels:
        - {name: torso, input: A0_A3}
        - {name: legs, input: A1_A3}

Code generation follows ESPHome's external-component API (``CONFIG_SCHEMA`` + ``to_code``);
ESPHome itself is not installed in this repository's environment, so this file is exercised
only by an ESPHome build.
"""

import re

import esphome.codegen as cg
import esphome.config_validation as cv
from esphome import pins
from esphome.components import i2c
from esphome.components import time as time_
from esphome.const import (
    CONF_CHANNELS,
    CONF_GAIN,
    CONF_ID,
    CONF_INPUT,
    CONF_NAME,
    CONF_PIN,
    CONF_SAMPLE_RATE,
    CONF_TIME_ID,
    CONF_TYPE,
)

DEPENDENCIES = ["mqtt"]

FIRMWARE_VERSION = "0.1.0"

CONF_BED_ID = "bed_id"
CONF_TOPIC_PREFIX = "topic_prefix"
CONF_FRAME_SAMPLES = "frame_samples"
CONF_VOLTS_PER_COUNT = "volts_per_count"
CONF_HIGHPASS_HZ = "highpass_hz"
CONF_LOWPASS_HZ = "lowpass_hz"
CONF_MANAGE_STATUS = "manage_status"
CONF_SOURCE = "source"
CONF_READY_PIN = "ready_pin"
CONF_ATTENUATION = "attenuation"

SOURCE_ADS1115 = "ads1115"
SOURCE_ESP32_ADC = "esp32_adc"

sleep_myoclonus_ns = cg.esphome_ns.namespace("sleep_myoclonus")
SleepMyoclonusComponent = sleep_myoclonus_ns.class_("SleepMyoclonusComponent", cg.Component)
Ads1115Source = sleep_myoclonus_ns.class_("Ads1115Source", i2c.I2CDevice)
Esp32AdcSource = sleep_myoclonus_ns.class_("Esp32AdcSource")

# ADS1115 programmable gain: full-scale range (V) -> PGA code.
ADS1115_GAINS = {"6.144": 0, "4.096": 1, "2.048": 2, "1.024": 3, "0.512": 4, "0.256": 5}
# ADS1115 input multiplexer: differential pairs and single-ended inputs -> MUX code.
ADS1115_INPUTS = {
    "A0_A1": 0,
    "A0_A3": 1,
    "A1_A3": 2,
    "A2_A3": 3,
    "A0": 4,
    "A1": 5,
    "A2": 6,
    "A3": 7,
}
# ESP32 ADC1 attenuation -> (adc_atten_t value, approximate usable full-scale volts).
ESP32_ATTENUATIONS = {"0db": (0, 0.95), "2.5db": (1, 1.25), "6db": (2, 1.75), "12db": (3, 2.45)}
# Classic ESP32 ADC1: GPIO -> channel. ADC2 is unusable while Wi-Fi runs.
ESP32_ADC1_PINS = {36: 0, 37: 1, 38: 2, 39: 3, 32: 4, 33: 5, 34: 6, 35: 7}
ESP32_ADC_OVERSAMPLE = 4  # samples are the sum of 4 readings (sample_sources.cpp)

RING_CAPACITY = 2048  # sleep_myoclonus.h: frames may use at most half of it
DEVICE_MAX_FRAME_BYTES = 4096
HEADER_LEN = 36
CHANNEL_NAMES = ("torso", "legs")
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


def _bed_id(value):
    value = cv.string_strict(value)
    if not _ID_RE.match(value):
        raise cv.Invalid("bed_id: 1-64 characters from A-Z a-z 0-9 _ -")
    return value


def _topic_prefix(value):
    value = cv.string_strict(value)
    if len(value) > 128 or not _PREFIX_RE.match(value):
        raise cv.Invalid("topic_prefix: ids of A-Z a-z 0-9 _ - joined by '/'")
    return value


def _sample_rate(value):
    value = cv.int_range(min=1, max=1000)(value)
    if 1_000_000 % value:
        raise cv.Invalid("sample_rate must divide 1 000 000 (a whole sample period in µs)")
    return value


def _adc1_pin(value):
    number = pins.internal_gpio_input_pin_number(value)
    if number not in ESP32_ADC1_PINS:
        raise cv.Invalid(f"GPIO{number} is not an ADC1 pin of the ESP32 (use GPIO32-39)")
    return number


ADS1115_SOURCE_SCHEMA = cv.Schema(
    {
        cv.GenerateID(): cv.declare_id(Ads1115Source),
        cv.Required(CONF_READY_PIN): pins.internal_gpio_input_pin_schema,
        cv.Optional(CONF_GAIN, default="1.024"): cv.one_of(*ADS1115_GAINS, string=True),
    }
).extend(i2c.i2c_device_schema(0x48))

ESP32_ADC_SOURCE_SCHEMA = cv.Schema(
    {
        cv.GenerateID(): cv.declare_id(Esp32AdcSource),
        cv.Optional(CONF_ATTENUATION, default="12db"): cv.one_of(*ESP32_ATTENUATIONS, lower=True),
    }
)

CHANNEL_SCHEMA = cv.Schema(
    {
        cv.Required(CONF_NAME): cv.one_of(*CHANNEL_NAMES, lower=True),
        cv.Optional(CONF_INPUT): cv.one_of(*ADS1115_INPUTS, upper=True),
        cv.Optional(CONF_PIN): _adc1_pin,
    }
)


def _validate(config):
    source = config[CONF_SOURCE][CONF_TYPE]
    channels = config[CONF_CHANNELS]
    names = [ch[CONF_NAME] for ch in channels]
    if len(set(names)) != len(names):
        raise cv.Invalid("channel names must be unique")
    wanted, unwanted = (
        (CONF_INPUT, CONF_PIN) if source == SOURCE_ADS1115 else (CONF_PIN, CONF_INPUT)
    )
    for ch in channels:
        if wanted not in ch or unwanted in ch:
            raise cv.Invalid(f"with source {source}, every channel needs '{wanted}' only")
    rate, n = config[CONF_SAMPLE_RATE], config[CONF_FRAME_SAMPLES]
    if source == SOURCE_ADS1115 and rate * len(channels) > 500:
        raise cv.Invalid("ADS1115: sample_rate x channels must be <= 500 (860 SPS converter)")
    if not 0.25 <= n / rate <= 1.0:
        raise cv.Invalid(f"frame_samples {n} at {rate} Hz is {n / rate:g} s; keep 0.25-1 s")
    if n > RING_CAPACITY // 2:
        raise cv.Invalid(f"frame_samples must be <= {RING_CAPACITY // 2}")
    if HEADER_LEN + n * len(channels) * 2 > DEVICE_MAX_FRAME_BYTES:
        raise cv.Invalid("a frame must stay within 4 KiB; lower frame_samples")
    if config[CONF_LOWPASS_HZ] >= rate / 2:
        raise cv.Invalid("lowpass_hz (the analog anti-alias filter) must be below sample_rate / 2")
    return config


CONFIG_SCHEMA = cv.All(
    cv.Schema(
        {
            cv.GenerateID(): cv.declare_id(SleepMyoclonusComponent),
            cv.Required(CONF_BED_ID): _bed_id,
            cv.Optional(CONF_TOPIC_PREFIX, default="sleep_myoclonus"): _topic_prefix,
            cv.Optional(CONF_TIME_ID): cv.use_id(time_.RealTimeClock),
            cv.Optional(CONF_SAMPLE_RATE, default=250): _sample_rate,
            cv.Optional(CONF_FRAME_SAMPLES, default=125): cv.int_range(min=1, max=4096),
            cv.Optional(CONF_VOLTS_PER_COUNT): cv.positive_float,
            cv.Optional(CONF_HIGHPASS_HZ, default=0.22): cv.positive_float,
            cv.Optional(CONF_LOWPASS_HZ, default=40.0): cv.positive_float,
            cv.Optional(CONF_MANAGE_STATUS, default=True): cv.boolean,
            cv.Required(CONF_SOURCE): cv.typed_schema(
                {
                    SOURCE_ADS1115: ADS1115_SOURCE_SCHEMA,
                    SOURCE_ESP32_ADC: ESP32_ADC_SOURCE_SCHEMA,
                },
                lower=True,
            ),
            cv.Required(CONF_CHANNELS): cv.All(
                cv.ensure_list(CHANNEL_SCHEMA), cv.Length(min=1, max=2)
            ),
        }
    ).extend(cv.COMPONENT_SCHEMA),
    cv.only_on_esp32,
    _validate,
)


async def _ads1115_source(conf, channels):
    source = cg.new_Pvariable(conf[CONF_ID])
    await i2c.register_i2c_device(source, conf)
    ready = await cg.gpio_pin_expression(conf[CONF_READY_PIN])
    cg.add(source.set_ready_pin(ready))
    cg.add(source.set_pga(ADS1115_GAINS[conf[CONF_GAIN]]))
    for ch in channels:
        cg.add(source.add_mux(ADS1115_INPUTS[ch[CONF_INPUT]]))
    cg.add_define("USE_SLEEP_MYOCLONUS_ADS1115")
    return source, float(conf[CONF_GAIN]) / 32768.0


async def _esp32_adc_source(conf, channels):
    source = cg.new_Pvariable(conf[CONF_ID])
    code, full_scale = ESP32_ATTENUATIONS[conf[CONF_ATTENUATION]]
    cg.add(source.set_attenuation(code))
    for ch in channels:
        cg.add(source.add_channel(ESP32_ADC1_PINS[ch[CONF_PIN]]))
    # Approximate: the ESP32 ADC is uncalibrated and non-linear near its ends.
    return source, full_scale / 4096.0 / ESP32_ADC_OVERSAMPLE


async def to_code(config):
    """Generate the C++ that creates and configures the component and its sample source.

    Parameters
    ----------
    config : dict
        The validated ``sleep_myoclonus:`` block.
    """
    var = cg.new_Pvariable(config[CONF_ID])
    await cg.register_component(var, config)

    source_conf, channels = config[CONF_SOURCE], config[CONF_CHANNELS]
    if source_conf[CONF_TYPE] == SOURCE_ADS1115:
        source, volts_per_count = await _ads1115_source(source_conf, channels)
    else:
        source, volts_per_count = await _esp32_adc_source(source_conf, channels)
    cg.add(var.set_source(source))
    cg.add(var.set_volts_per_count(config.get(CONF_VOLTS_PER_COUNT, volts_per_count)))

    cg.add(var.set_bed_id(config[CONF_BED_ID]))
    cg.add(var.set_topic_prefix(config[CONF_TOPIC_PREFIX]))
    for ch in channels:
        cg.add(var.add_channel_name(ch[CONF_NAME]))
    cg.add(var.set_sample_rate(config[CONF_SAMPLE_RATE]))
    cg.add(var.set_frame_samples(config[CONF_FRAME_SAMPLES]))
    cg.add(var.set_filters(config[CONF_HIGHPASS_HZ], config[CONF_LOWPASS_HZ]))
    cg.add(var.set_firmware_version(FIRMWARE_VERSION))
    cg.add(var.set_manage_status(config[CONF_MANAGE_STATUS]))
    if CONF_TIME_ID in config:
        clock = await cg.get_variable(config[CONF_TIME_ID])
        cg.add(var.set_time(clock))
