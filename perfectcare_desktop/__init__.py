"""PerfectCare Desktop: suicide-prevention safety plans and safety formulations, kept encrypted."""

__version__ = "0.1.0"
