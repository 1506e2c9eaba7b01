"""One page module per domain, each with its own router; app.web.install includes them."""
