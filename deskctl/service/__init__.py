"""The background service: `Service` (the owner task) and `DeskRunner` (one desk in it)."""
