"""The case: opened (`records`), moved through its lifecycle by whoever may (`lifecycle`, `case_work`,
`authority`), told to people (`case_notices`), timed and escalated (`timing`, `clock`, `escalation`),
and looked up and reported from chat (`worker_queries`, `patrol`), with points for the work (`points`)."""
