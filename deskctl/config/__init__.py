"""What a person writes and where deskctl keeps its files: the settings, the paths, the profile
and cue libraries, and reading TOML."""
