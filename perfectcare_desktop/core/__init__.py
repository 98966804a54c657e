"""Pure Python, no Qt: what the app and the admin command line share. One folder per kind of work:

- `access/`: signing in, the session and its key, accounts, password rules, user admin;
- `storage/`: the store file, versions, the audit chain, the sync outbox, verify, backup, export;
- `patients/`: people's details, NHS and phone numbers, search, the patient list, the caseload;
- `clinical/`: safety plans, formulations, discharge and follow-up, involvement, checks before printing;
- `clinical_safety/`: the hazard log;
- `demo/`: synthetic data.
`clock.py` and `resources.py` (where shipped data files are) serve them all.
"""
