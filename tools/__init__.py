"""Developer tools run by hand (code generators); not part of the installed station."""
