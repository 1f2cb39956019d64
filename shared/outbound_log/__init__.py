"""The outbound log in Table Storage: the writer, search, retention, and its routes and page."""
