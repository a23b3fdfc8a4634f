"""Virtual under-mattress piezo sensor: realistic nights with ground truth, to files or MQTT."""
