"""Alert delivery through Apprise: channels from the Apprise config, and a
deliverer that sends one alert to the one target of its channel."""

from monitor.notify.channels import CONSOLE, Channels, load_channels
from monitor.notify.deliver import Deliverer, DeliveryResult, send_test

__all__ = ["CONSOLE", "Channels", "Deliverer", "DeliveryResult", "load_channels", "send_test"]
