"""The recording contract lives in :mod:`detector.recording` (the detector CLI reads it too)."""

from detector.recording import Recording, RecordingError, load_recording, save_recording, truth_path

__all__ = ["Recording", "RecordingError", "load_recording", "save_recording", "truth_path"]
