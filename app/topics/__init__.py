"""Topics: saved searches that tag every call whose transcript matches them."""
