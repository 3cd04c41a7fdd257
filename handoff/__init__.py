"""Human handoff: tickets and their service, SLAs, reply templates, ratings, Slack and the local desk."""
