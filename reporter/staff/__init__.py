"""Staff accounts: invitation, enrolment, vetting and offboarding, login, passwords and TOTP."""
