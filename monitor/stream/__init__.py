"""The Faust wiring: the app, its lanes (channels or topics) and the agents."""
