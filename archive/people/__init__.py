"""People and their subsidies: entering and changing a person with the roster's rules
(`registration`), the only way an enrolment's status moves (`enrolments`), and their admin
pages (`person_views`, `admin_views`)."""
