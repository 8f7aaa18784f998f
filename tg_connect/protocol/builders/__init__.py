"""The client's request builders, one module per service family (see :mod:`..registry`)."""
