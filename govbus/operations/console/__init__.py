"""The operator's console (``govbus run console``): the bus status sampled every few seconds, one page with
tables and charts of the last hour, rendered on the server (HTML, inline CSS and SVG; nothing fetched from
elsewhere). See ``README.md`` here."""
