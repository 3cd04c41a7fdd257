"""The local agent desk at /desk: the agents' side of a handoff when Slack is not configured.

`routes.desk_routes` returns the Starlette routes: a password login that signs the agent's name into
a cookie, a small JSON API over HandoffService, and `desk.html`, one self-contained page that lists
the tickets and lets an agent claim, reply, add notes and close. Customer text is hostile: the page
inserts it with textContent only, and its Content-Security-Policy allows only its own inline script.
"""
