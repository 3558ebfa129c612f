"""The service's ways out: control socket, MQTT bridge, history store, notifiers, systemd."""
