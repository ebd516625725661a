"""Web chat: the widget a site embeds, and its socket."""
