"""Time as the service sees it: the injected clock and the local time zone."""
