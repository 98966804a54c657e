"""The clinical safety case: the hazard log (DCB0129) and what controls each hazard."""
