"""The service's web server: dashboard, JSON API, metrics and health probes."""
