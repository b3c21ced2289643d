"""HTML pages: the viewer, the overlay and what they share."""
