"""Sleep Myoclonus detector: wire protocol, streaming DSP and event rules (numpy only)."""
