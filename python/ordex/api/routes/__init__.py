"""One router per route family."""
