"""What clinicians write with the person: safety plans (content, layouts, prompts, comparison, checks
before printing, crisis contacts), safety formulations, discharge and follow-up, involvement."""
