"""Who may do what: signing in, the session and its key, accounts and password rules, user admin."""
