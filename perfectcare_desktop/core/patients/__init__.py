"""The people in care: their details, NHS and phone numbers, search, the patient list in memory and the
caseload."""
