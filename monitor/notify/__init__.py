"""Alert delivery through Apprise: channels from the Apprise config, and a
deliverer that sends one alert to the one target of its channel.

Import from the modules: the service's own process imports no Apprise
(``monitor.notify.sending``), and this package's modules import it only where
it is needed.
"""
