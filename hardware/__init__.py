"""Reference sensor hardware and the virtual sensor that simulates it."""
