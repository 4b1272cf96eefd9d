"""Colorizing an item or one's own file from scribbles and references: the Colorize page (views),
its API (a frame preview in seconds, the launch of the whole clip) and the services behind them."""
