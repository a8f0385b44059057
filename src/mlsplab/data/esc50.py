"""ESC-50 archive layout (the ESC-10 loader builds on these names)."""

ESC_ROOT = "ESC-50-master"
ESC_META_MEMBER = f"{ESC_ROOT}/meta/esc50.csv"
ESC_AUDIO_DIR = f"{ESC_ROOT}/audio"
