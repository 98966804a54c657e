"""Version statuses that the UI needs without loading the store (plain constants)."""

ENTERED_IN_ERROR = "entered_in_error"
